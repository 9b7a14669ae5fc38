// CallUuid: the CallKit UUID of a call, derived from its callId as a
// name-based UUID (RFC 4122 version 5, SHA-1) so that the call, update and
// cancel pushes of one call agree without any shared state, on iOS and
// Android alike.
#ifndef CALLPUSH_CLIENTS_APNS_CALL_UUID_H_
#define CALLPUSH_CLIENTS_APNS_CALL_UUID_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace callpush {

using Uuid = std::array<uint8_t, 16>;

// The namespace of callpush call UUIDs. Fixed forever: changing it changes
// every call's UUID, so apps mid-call would see two different calls.
inline constexpr absl::string_view kCallUuidNamespace =
    "90949159-2337-4cb3-95e8-b06e00bb7c3f";

// "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", hex digits of either case.
std::optional<Uuid> ParseUuid(absl::string_view text);
// Lower case, as RFC 4122 writes UUIDs.
std::string FormatUuid(const Uuid& uuid);

// RFC 4122 section 4.3, version 5: SHA-1 of namespace || name.
Uuid UuidV5(const Uuid& name_space, absl::string_view name);

// UuidV5(kCallUuidNamespace, call_id), formatted.
std::string CallUuid(absl::string_view call_id);

}  // namespace callpush

#endif  // CALLPUSH_CLIENTS_APNS_CALL_UUID_H_
