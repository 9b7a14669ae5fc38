#include "tests/bench/proc_stats.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace callpush::bench {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec +
         (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// The fields of /proc/PID/stat after the command name (which is in
// parentheses and may hold spaces): [0] is state, [1] ppid, [11] utime,
// [12] stime. Empty if the process is gone.
std::vector<std::string> StatFields(int pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 > stat.size()) return {};
  return absl::StrSplit(stat.substr(paren + 2), ' ', absl::SkipEmpty());
}

// utime + stime of `fields` (from StatFields), or 0.
double CpuSecondsOf(const std::vector<std::string>& fields) {
  int64_t utime = 0, stime = 0;
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &utime) ||
      !absl::SimpleAtoi(fields[12], &stime)) {
    return 0;
  }
  return static_cast<double>(utime + stime) / sysconf(_SC_CLK_TCK);
}

double ProcessCpuSeconds(int pid) { return CpuSecondsOf(StatFields(pid)); }

// Summed CPU time of the live children of `ppid`.
double ChildrenCpuSeconds(int ppid) {
  double sum = 0;
  DIR* dir = opendir("/proc");
  if (dir == nullptr) return 0;
  while (dirent* e = readdir(dir)) {
    int pid = 0;
    if (!absl::SimpleAtoi(e->d_name, &pid)) continue;
    std::vector<std::string> f = StatFields(pid);
    int parent = 0;
    if (f.size() > 1 && absl::SimpleAtoi(f[1], &parent) && parent == ppid) {
      sum += CpuSecondsOf(f);
    }
  }
  closedir(dir);
  return sum;
}

int64_t SelfStatusKb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  const std::string status((std::istreambuf_iterator<char>(in)),
                           std::istreambuf_iterator<char>());
  for (absl::string_view line : absl::StrSplit(status, '\n')) {
    if (!absl::ConsumePrefix(&line, field)) continue;
    line = absl::StripAsciiWhitespace(line);
    absl::ConsumeSuffix(&line, " kB");
    int64_t kb = 0;
    if (absl::SimpleAtoi(line, &kb)) return kb;
  }
  return -1;
}

}  // namespace callpush::bench
