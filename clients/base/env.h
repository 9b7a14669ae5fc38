// EnvOr: a flag default taken from the environment (operators override ports,
// database URL and log level without editing command lines).
#ifndef CALLPUSH_CLIENTS_BASE_ENV_H_
#define CALLPUSH_CLIENTS_BASE_ENV_H_

#include <cstdlib>
#include <string>

namespace callpush {

// The variable's value, or `fallback` when it is unset or empty.
inline std::string EnvOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

}  // namespace callpush

#endif  // CALLPUSH_CLIENTS_BASE_ENV_H_
