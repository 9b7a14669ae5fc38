#include "tests/bench/latency_curve.h"

#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace callpush::bench {
namespace {

std::vector<int64_t> OneToN(int n) {
  std::vector<int64_t> v;
  for (int i = 1; i <= n; ++i) v.push_back(i);
  return v;
}

TEST(PercentileTest, RoundsTheIndex) {
  const std::vector<int64_t> v = OneToN(10);  // indexes 0..9
  EXPECT_EQ(Percentile(v, 0), 1);
  EXPECT_EQ(Percentile(v, 0.5), 6);    // index 4.5 rounds to 5
  EXPECT_EQ(Percentile(v, 0.99), 10);  // index 8.91 rounds to 9
  EXPECT_EQ(Percentile(v, 1), 10);
  EXPECT_EQ(Percentile({}, 0.5), 0);
}

TEST(LatencyCurveJsonTest, EmptyIsAnEmptyArray) {
  EXPECT_EQ(LatencyCurveJson({}, 1e3, 1), "[]");
}

TEST(LatencyCurveJsonTest, StopsWhereNoSampleLiesAbove) {
  // Ten samples of 1..10 ns: 0%, 20.6%, 36.9%, 50%, 60.2%, 68.4%, 74.9%,
  // 80.0%, 84.2%, 87.4%, 90%; 92.1% would need 1 / 0.079 > 10 samples.
  EXPECT_EQ(LatencyCurveJson(OneToN(10), 1, 0),
            "[[0.0000, 1], [20.5672, 3], [36.9043, 4], [50.0000, 6], "
            "[60.1893, 6], [68.3772, 7], [74.8811, 8], [80.0474, 8], "
            "[84.1511, 9], [87.4107, 9], [90.0000, 9]]");
}

TEST(LatencyCurveJsonTest, DividesAndReachesThreeNines) {
  // 1000 samples of 1..1000 ns, printed in µs: the last point is 99.9%.
  const std::string json = LatencyCurveJson(OneToN(1000), 1e3, 3);
  EXPECT_EQ(json.substr(0, 35), "[[0.0000, 0.001], [20.5672, 0.206],");
  const std::string tail = "[99.8741, 0.999], [99.9000, 0.999]]";
  EXPECT_EQ(json.substr(json.size() - tail.size()), tail);
}

}  // namespace
}  // namespace callpush::bench
