#include "clients/base/grpc_log_bridge.h"

#include <grpc/support/log.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "clients/base/log.h"

namespace callpush {
namespace {

void ToLog(gpr_log_func_args* args) {
  const LogLevel level = args->severity == GPR_LOG_SEVERITY_ERROR
                             ? LogLevel::kWarning
                             : LogLevel::kDebug;
  Log(level, "grpc",
      {{"detail", args->message != nullptr ? args->message : ""},
       {"at", absl::StrCat(args->file != nullptr ? args->file : "?", ":",
                           args->line)}});
}

}  // namespace

void RouteGrpcLogsToLog() { gpr_set_log_function(&ToLog); }

}  // namespace callpush
