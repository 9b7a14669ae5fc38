// Log: one JSON object per line on stderr. Abseil 20220623 has no absl/log,
// and a service needs structured lines rather than free text. Callers pass
// only redacted values (clients/base/redact.h) for personal data.
#ifndef CALLPUSH_CLIENTS_BASE_LOG_H_
#define CALLPUSH_CLIENTS_BASE_LOG_H_

#include <initializer_list>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace callpush {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Process-wide threshold; lines below it are dropped. Thread-safe.
void SetLogLevel(LogLevel level);
bool ParseLogLevel(absl::string_view text, LogLevel* level);

using LogField = std::pair<absl::string_view, std::string>;

// Writes {"ts":...,"level":...,"msg":...,<fields>} as one line. Thread-safe;
// one write(2) per line so lines from threads never interleave.
void Log(LogLevel level, absl::string_view msg,
         std::initializer_list<LogField> fields = {});

}  // namespace callpush

#endif  // CALLPUSH_CLIENTS_BASE_LOG_H_
