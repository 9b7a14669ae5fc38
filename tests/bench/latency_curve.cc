#include "tests/bench/latency_curve.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace callpush::bench {
namespace {

constexpr int kMaxTenthsOfNines = 50;  // 99.999%

// The k-th point of the grid, in percent; k = 3 (49.9%) is rounded to 50%.
double GridPercent(int k) {
  if (k == 3) return 50.0;
  return 100.0 * (1.0 - std::pow(10.0, -k / 10.0));
}

}  // namespace

int64_t Percentile(const std::vector<int64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  const size_t i = static_cast<size_t>(q * (sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

std::string LatencyCurveJson(const std::vector<int64_t>& sorted, double divisor,
                             int decimals) {
  std::vector<std::string> points;
  const double n = static_cast<double>(sorted.size());
  for (int k = 0; k <= kMaxTenthsOfNines && !sorted.empty(); ++k) {
    const double p = GridPercent(k);
    if (k > 0 && n * (1.0 - p / 100.0) < 1.0 - 1e-6) break;  // rounding
    points.push_back(absl::StrFormat("[%.4f, %.*f]", p, decimals,
                                     Percentile(sorted, p / 100.0) / divisor));
  }
  return absl::StrCat("[", absl::StrJoin(points, ", "), "]");
}

}  // namespace callpush::bench
