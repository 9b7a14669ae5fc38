// Transcoding between the HTTP side and protobuf messages for one route:
// JSON or form bodies, query parameters and path variables become the request
// message (protobuf's json_util for JSON); a response message becomes JSON,
// with `response_body` printed bare (a repeated field as a JSON array).
//
// Pure functions; thread-safe. Errors are InvalidArgument with a message
// that names the parameter, ready for a 400 answer.
#ifndef CALLPUSH_GATEWAY_TRANSCODER_H_
#define CALLPUSH_GATEWAY_TRANSCODER_H_

#include <google/protobuf/message.h>

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gateway/route_table.h"

namespace callpush::gateway {

enum class BodyFormat { kJson, kForm };

// The body format for a Content-Type header value (parameters such as
// charset are ignored); nullopt when unsupported (415). An absent header
// means JSON, and so does a "form" body that starts with '{' (curl -d).
std::optional<BodyFormat> BodyFormatFor(absl::string_view content_type,
                                        absl::string_view body);

// Fills `request` (an empty message of the route's input type). Only fields
// that the body does not cover are bound from the query, by JSON name
// (`mobileNumber`) or proto name (`mobile_number`), dotted for nested
// fields. Unknown fields and parameters are ignored; an empty body is `{}`.
absl::Status BuildRequest(const Route& route, const PathBindings& bindings,
                          absl::string_view query, BodyFormat format,
                          absl::string_view body,
                          google::protobuf::Message* request);

// The JSON answer for a response message.
absl::StatusOr<std::string> ResponseJson(
    const Route& route, const google::protobuf::Message& response);

// {"error": message}, escaped properly.
std::string ErrorJson(absl::string_view message);

}  // namespace callpush::gateway

#endif  // CALLPUSH_GATEWAY_TRANSCODER_H_
