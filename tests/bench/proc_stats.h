// Clock, CPU and memory readings the load generators (grpc_load.cc,
// push_load.cc) report: a steady clock in nanoseconds, this process's CPU
// time and peak memory, and the CPU time of other processes from /proc (the
// server, the sandbox, Postgres backends), so that CPU per request can be
// set next to the peer's.
#ifndef CALLPUSH_TESTS_BENCH_PROC_STATS_H_
#define CALLPUSH_TESTS_BENCH_PROC_STATS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace callpush::bench {

int64_t NowNs();
// utime + stime of this process.
double CpuSeconds();
// The fields of /proc/PID/stat after the command name (which is in
// parentheses and may hold spaces): [0] is state, [1] ppid, [11] utime,
// [12] stime. Empty if the process is gone.
std::vector<std::string> StatFields(int pid);
// utime + stime of `fields` (from StatFields), or 0.
double CpuSecondsOf(const std::vector<std::string>& fields);
// utime + stime of `pid`, or 0 if it is gone.
double ProcessCpuSeconds(int pid);
// Summed CPU time of the live children of `ppid`.
double ChildrenCpuSeconds(int ppid);
// A "VmHWM:"-style field of /proc/self/status in KiB, or -1.
int64_t SelfStatusKb(const std::string& field);

}  // namespace callpush::bench

#endif  // CALLPUSH_TESTS_BENCH_PROC_STATS_H_
