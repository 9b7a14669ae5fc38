// The latency distribution the load generators print for plots: percentiles
// evenly spaced on a "nines" scale. tests/bench/latency_curve.py computes
// the same points from pgbench's and h2load's per-request logs.
#ifndef CALLPUSH_TESTS_BENCH_LATENCY_CURVE_H_
#define CALLPUSH_TESTS_BENCH_LATENCY_CURVE_H_

#include <cstdint>
#include <string>
#include <vector>

namespace callpush::bench {

// The sample at index round(q * (n - 1)) of `sorted` (ascending), q in
// [0, 1]; 0 if `sorted` is empty.
int64_t Percentile(const std::vector<int64_t>& sorted, double q);

// A JSON array [[percentile, value], ...] of `sorted` (ascending, in ns),
// each value divided by `divisor` (1e3: µs, 1e6: ms) and printed with
// `decimals` decimals. The points: 0%, 20.6%, 36.9%, 50%, then
// 100 * (1 - 10^(-k/10)) for k = 4, 5, ... (60.2%, ..., 90%, ..., 99%, ...),
// a tenth of a nine apart, up to 99.999%, and only as far as at least one
// sample lies above the point. "[]" if `sorted` is empty.
std::string LatencyCurveJson(const std::vector<int64_t>& sorted, double divisor,
                             int decimals);

}  // namespace callpush::bench

#endif  // CALLPUSH_TESTS_BENCH_LATENCY_CURVE_H_
