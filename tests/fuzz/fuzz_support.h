// What every fuzz target shares: a check that stops the run with a message
// (libFuzzer then keeps the input as a crash reproducer), quiet logging, and
// the text form of a provider's HTTP/2 answer. Header-only: each fuzzer is
// one .cc.
#ifndef CALLPUSH_TESTS_FUZZ_FUZZ_SUPPORT_H_
#define CALLPUSH_TESTS_FUZZ_FUZZ_SUPPORT_H_

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "clients/base/log.h"
#include "clients/http2/http2_types.h"

// A property of the code under test that must hold for every input. Unlike
// assert() it survives NDEBUG.
#define FUZZ_CHECK(cond)                                               \
  do {                                                                 \
    if (!(cond)) {                                                     \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, \
                   __LINE__, #cond);                                   \
      std::abort();                                                    \
    }                                                                  \
  } while (0)

namespace callpush::fuzz {

// Our log lines at error level only, gRPC's not at all: a line per input on
// stderr would be most of a run's time.
inline void QuietLogs() {
  SetLogLevel(LogLevel::kError);
  setenv("GRPC_VERBOSITY", "NONE", /*overwrite=*/1);
}

// A provider's answer as the HTTP/2 client hands it over, written as text
// so that seeds are readable and mutations stay meaningful:
//   <status>\n<name>: <value>\n...\n\n<body>
// A first line "error <code>" is a transport failure with that absl code
// (the rest of the line its message). A status that is not a number is 0;
// names are taken as written (nghttp2 gives lower case; the fuzzer may
// not), values without the space after the colon.
inline absl::StatusOr<http2::Response> ParseResponseText(absl::string_view in) {
  auto next_line = [&in]() {
    const size_t nl = in.find('\n');
    absl::string_view line = in.substr(0, nl);
    in.remove_prefix(nl == absl::string_view::npos ? in.size() : nl + 1);
    return line;
  };
  absl::string_view first = next_line();
  if (first.substr(0, 6) == "error ") {
    first.remove_prefix(6);
    const size_t space = first.find(' ');
    int code = 0;
    if (!absl::SimpleAtoi(first.substr(0, space), &code)) code = 2;
    // absl::Status with code OK would not be an error: use UNKNOWN.
    if (code == 0) code = 2;
    return absl::Status(
        static_cast<absl::StatusCode>(code),
        space == absl::string_view::npos ? "" : first.substr(space + 1));
  }
  http2::Response r;
  if (!absl::SimpleAtoi(first, &r.status)) r.status = 0;
  while (!in.empty()) {
    absl::string_view line = next_line();
    if (line.empty()) break;
    const size_t colon = line.find(':');
    absl::string_view value =
        colon == absl::string_view::npos ? "" : line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
    r.headers.emplace_back(std::string(line.substr(0, colon)),
                           std::string(value));
  }
  r.body = std::string(in);
  return r;
}

}  // namespace callpush::fuzz

#endif  // CALLPUSH_TESTS_FUZZ_FUZZ_SUPPORT_H_
