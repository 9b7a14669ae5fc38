// Fuzz target: JSON/form/query -> protobuf transcoding (gateway/transcoder.h)
// behind route matching (gateway/route_table.h), for the four routes of
// CallService and for a fuzz-only service whose messages hold every kind of
// field (scalars of each type, enums, nested and repeated messages, maps,
// oneofs, well-known types) and whose routes use path variables, a body
// field and a response_body, so that every branch of the transcoder is
// reachable.
//
// Input (text, so that seeds are readable):
//   <METHOD> <path>[?<query>]\n<Content-Type>\n<body>
// e.g. "POST /v1/call\napplication/json\n{"callId":"c"}".
//
// Beyond not crashing: BuildRequest fails only with InvalidArgument, and
// what it accepts is a message protobuf itself accepts (strings valid
// UTF-8: a serialize/parse round trip holds) and prints back to JSON;
// ErrorJson makes valid JSON of any message, and gives back the very text
// of a valid UTF-8 one; the bare-array answer of ListCallableDevices is a
// JSON array of the devices.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/text_format.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "callpush/v1/call_service.pb.h"
#include "gateway/route_table.h"
#include "gateway/transcoder.h"
#include "nlohmann/json.hpp"
#include "tests/fuzz/fuzz_support.h"

namespace callpush::gateway {
namespace {

namespace pb = google::protobuf;

constexpr char kFuzzProto[] = R"pb(
  name: "callpush/fuzz/transcoder_fuzz.proto"
  package: "callpush.fuzz"
  syntax: "proto3"
  dependency: "google/api/annotations.proto"
  dependency: "google/protobuf/timestamp.proto"
  dependency: "google/protobuf/wrappers.proto"
  dependency: "google/protobuf/struct.proto"
  enum_type {
    name: "Color"
    value { name: "COLOR_UNSPECIFIED" number: 0 }
    value { name: "RED" number: 1 }
    value { name: "GREEN" number: 2 }
  }
  message_type {
    name: "Inner"
    field { name: "id" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
    field { name: "count" number: 2 label: LABEL_OPTIONAL type: TYPE_INT32 }
    field {
      name: "deeper"
      number: 3
      label: LABEL_OPTIONAL
      type: TYPE_MESSAGE
      type_name: ".callpush.fuzz.Inner"
    }
    field { name: "tags" number: 4 label: LABEL_REPEATED type: TYPE_STRING }
  }
  message_type {
    name: "Everything"
    field { name: "text" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
    field { name: "blob" number: 2 label: LABEL_OPTIONAL type: TYPE_BYTES }
    field { name: "flag" number: 3 label: LABEL_OPTIONAL type: TYPE_BOOL }
    field { name: "i32" number: 4 label: LABEL_OPTIONAL type: TYPE_INT32 }
    field { name: "i64" number: 5 label: LABEL_OPTIONAL type: TYPE_INT64 }
    field { name: "u32" number: 6 label: LABEL_OPTIONAL type: TYPE_UINT32 }
    field { name: "u64" number: 7 label: LABEL_OPTIONAL type: TYPE_UINT64 }
    field { name: "s32" number: 8 label: LABEL_OPTIONAL type: TYPE_SINT32 }
    field { name: "f64" number: 9 label: LABEL_OPTIONAL type: TYPE_FIXED64 }
    field { name: "dbl" number: 10 label: LABEL_OPTIONAL type: TYPE_DOUBLE }
    field { name: "flt" number: 11 label: LABEL_OPTIONAL type: TYPE_FLOAT }
    field {
      name: "color"
      number: 12
      label: LABEL_OPTIONAL
      type: TYPE_ENUM
      type_name: ".callpush.fuzz.Color"
    }
    field {
      name: "inner"
      number: 13
      label: LABEL_OPTIONAL
      type: TYPE_MESSAGE
      type_name: ".callpush.fuzz.Inner"
    }
    field { name: "texts" number: 14 label: LABEL_REPEATED type: TYPE_STRING }
    field { name: "numbers" number: 15 label: LABEL_REPEATED type: TYPE_INT64 }
    field {
      name: "colors"
      number: 16
      label: LABEL_REPEATED
      type: TYPE_ENUM
      type_name: ".callpush.fuzz.Color"
    }
    field {
      name: "inners"
      number: 17
      label: LABEL_REPEATED
      type: TYPE_MESSAGE
      type_name: ".callpush.fuzz.Inner"
    }
    field {
      name: "labels"
      number: 18
      label: LABEL_REPEATED
      type: TYPE_MESSAGE
      type_name: ".callpush.fuzz.Everything.LabelsEntry"
    }
    field {
      name: "when"
      number: 19
      label: LABEL_OPTIONAL
      type: TYPE_MESSAGE
      type_name: ".google.protobuf.Timestamp"
    }
    field {
      name: "maybe"
      number: 20
      label: LABEL_OPTIONAL
      type: TYPE_MESSAGE
      type_name: ".google.protobuf.Int32Value"
    }
    field {
      name: "anything"
      number: 21
      label: LABEL_OPTIONAL
      type: TYPE_MESSAGE
      type_name: ".google.protobuf.Value"
    }
    field {
      name: "choice_text"
      number: 22
      label: LABEL_OPTIONAL
      type: TYPE_STRING
      oneof_index: 0
    }
    field {
      name: "choice_number"
      number: 23
      label: LABEL_OPTIONAL
      type: TYPE_INT32
      oneof_index: 0
    }
    field {
      name: "snake_case_name"
      number: 24
      label: LABEL_OPTIONAL
      type: TYPE_SINT64
    }
    field {
      name: "opt_text"
      number: 25
      label: LABEL_OPTIONAL
      type: TYPE_STRING
      oneof_index: 1
      proto3_optional: true
    }
    nested_type {
      name: "LabelsEntry"
      field { name: "key" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
      field { name: "value" number: 2 label: LABEL_OPTIONAL type: TYPE_INT32 }
      options { map_entry: true }
    }
    oneof_decl { name: "choice" }
    oneof_decl { name: "_opt_text" }
  }
  service {
    name: "FuzzService"
    method {
      name: "Get"
      input_type: ".callpush.fuzz.Everything"
      output_type: ".callpush.fuzz.Everything"
      options {
        [google.api.http] {
          get: "/v1/things/{text}/{inner.id}"
          additional_bindings { get: "/v1/things/{i64}" }
          additional_bindings { get: "/v1/objects/{inner}" }
        }
      }
    }
    method {
      name: "Create"
      input_type: ".callpush.fuzz.Everything"
      output_type: ".callpush.fuzz.Everything"
      options {
        [google.api.http] { post: "/v1/things" body: "*" }
      }
    }
    method {
      name: "Update"
      input_type: ".callpush.fuzz.Everything"
      output_type: ".callpush.fuzz.Everything"
      options {
        [google.api.http] {
          patch: "/v1/things/{text}/inner"
          body: "inner"
          response_body: "inners"
        }
      }
    }
    method {
      name: "Remove"
      input_type: ".callpush.fuzz.Everything"
      output_type: ".callpush.fuzz.Everything"
      options {
        [google.api.http] {
          delete: "/v1/things/{color}/{flag}/{inner.deeper.count}"
          response_body: "inner"
        }
      }
    }
    method {
      name: "Search"
      input_type: ".callpush.fuzz.Everything"
      output_type: ".callpush.fuzz.Everything"
      options {
        [google.api.http] {
          custom { kind: "SEARCH" path: "/v1/search/{u64}/{dbl}/{flt}" }
          body: "when"
        }
      }
    }
  }
)pb";

struct Tables {
  std::unique_ptr<RouteTable> call_service;
  pb::DescriptorPool fuzz_pool{pb::DescriptorPool::generated_pool()};
  pb::DynamicMessageFactory fuzz_factory{&fuzz_pool};
  std::unique_ptr<RouteTable> fuzz_service;
};
Tables* tables = nullptr;

void MakeTables() {
  tables = new Tables();
  auto call = RouteTable::Build(
      {v1::CallRequest::descriptor()->file()->FindServiceByName(
          "CallService")});
  FUZZ_CHECK(call.ok());
  tables->call_service = *std::move(call);
  pb::FileDescriptorProto file;
  FUZZ_CHECK(pb::TextFormat::ParseFromString(kFuzzProto, &file));
  const pb::FileDescriptor* built = tables->fuzz_pool.BuildFile(file);
  FUZZ_CHECK(built != nullptr);
  auto fuzz = RouteTable::Build({built->FindServiceByName("FuzzService")});
  FUZZ_CHECK(fuzz.ok());
  tables->fuzz_service = *std::move(fuzz);
  FUZZ_CHECK(tables->fuzz_service->routes().size() == 7);
}

// Any message becomes a JSON object {"error": <string>}, which is the
// message itself when that is valid UTF-8.
void CheckErrorJson(absl::string_view message) {
  const std::string json = ErrorJson(message);
  const nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  FUZZ_CHECK(j.is_object() && j.size() == 1 && j.contains("error") &&
             j["error"].is_string());
  const std::string& decoded = j["error"].get_ref<const std::string&>();
  bool valid_utf8 = true;
  try {
    (void)nlohmann::json(std::string(message)).dump();
  } catch (const nlohmann::json::type_error&) {
    valid_utf8 = false;  // dump() refuses invalid UTF-8
  }
  if (valid_utf8) FUZZ_CHECK(decoded == message);
}

void CheckAccepted(const Route& route, const pb::Message& request) {
  // Protobuf's own parser checks proto3 strings are UTF-8.
  std::unique_ptr<pb::Message> copy(request.New());
  FUZZ_CHECK(copy->ParseFromString(request.SerializeAsString()));

  if (route.method->output_type() == route.method->input_type()) {
    const absl::StatusOr<std::string> json = ResponseJson(route, request);
    FUZZ_CHECK(json.ok());
    FUZZ_CHECK(!nlohmann::json::parse(*json, nullptr, false).is_discarded());
  }
  if (request.GetDescriptor() == v1::ListCallableDevicesRequest::descriptor()) {
    const auto& list =
        static_cast<const v1::ListCallableDevicesRequest&>(request);
    v1::ListCallableDevicesResponse response;
    response.add_devices()->set_id(list.mobile_number());
    response.add_devices()->set_id("second");
    const absl::StatusOr<std::string> json = ResponseJson(route, response);
    FUZZ_CHECK(json.ok());
    const nlohmann::json j = nlohmann::json::parse(*json, nullptr, false);
    FUZZ_CHECK(j.is_array() && j.size() == 2);
    FUZZ_CHECK(j[1] == nlohmann::json({{"id", "second"}}));
    if (!list.mobile_number().empty()) {
      FUZZ_CHECK(j[0]["id"] == list.mobile_number());
    }
  }
}

void TestOne(absl::string_view text) {
  auto next_line = [&text]() {
    const size_t nl = text.find('\n');
    absl::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == absl::string_view::npos ? text.size() : nl + 1);
    return line;
  };
  const absl::string_view request_line = next_line();
  const absl::string_view content_type = next_line();
  const absl::string_view body = text;
  CheckErrorJson(body);

  const size_t space = request_line.find(' ');
  const absl::string_view method = request_line.substr(0, space);
  const absl::string_view target =
      space == absl::string_view::npos ? "" : request_line.substr(space + 1);
  const size_t q = target.find('?');
  const absl::string_view path = target.substr(0, q);
  const absl::string_view query =
      q == absl::string_view::npos ? "" : target.substr(q + 1);

  RouteTable::Match match = tables->call_service->Find(method, path);
  const pb::Message* prototype = nullptr;
  if (match.kind == RouteTable::Match::kFound) {
    prototype = pb::MessageFactory::generated_factory()->GetPrototype(
        match.route->method->input_type());
  } else {
    match = tables->fuzz_service->Find(method, path);
    if (match.kind != RouteTable::Match::kFound) {
      if (match.kind == RouteTable::Match::kWrongMethod) {
        FUZZ_CHECK(!match.allowed_methods.empty());
      }
      return;
    }
    prototype =
        tables->fuzz_factory.GetPrototype(match.route->method->input_type());
  }
  FUZZ_CHECK(prototype != nullptr);
  for (const auto& [field, value] : match.bindings) {
    FUZZ_CHECK(!field.empty() && !value.empty());
  }

  // As the gateway does: a body's format matters only when there is one.
  BodyFormat format = BodyFormat::kJson;
  if (!match.route->body.empty() && !body.empty()) {
    const auto f = BodyFormatFor(content_type, body);
    if (!f.has_value()) return;  // 415
    format = *f;
  }
  std::unique_ptr<pb::Message> request(prototype->New());
  const absl::Status built = BuildRequest(*match.route, match.bindings, query,
                                          format, body, request.get());
  if (!built.ok()) {
    FUZZ_CHECK(built.code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(!built.message().empty());
    CheckErrorJson(built.message());
    return;
  }
  CheckAccepted(*match.route, *request);
}

}  // namespace
}  // namespace callpush::gateway

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  callpush::fuzz::QuietLogs();
  callpush::gateway::MakeTables();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  callpush::gateway::TestOne(
      absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
