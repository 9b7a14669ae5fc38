#include "gateway/transcoder.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <cstdlib>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "clients/base/status_macros.h"
#include "gateway/url_encoding.h"

namespace callpush::gateway {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Length of the well-formed UTF-8 sequence at s[i] (1-4), or 0 when the
// bytes there are not one (overlong forms and surrogates included).
size_t Utf8SequenceLength(absl::string_view s, size_t i) {
  const unsigned char c = s[i];
  if (c < 0x80) return 1;
  size_t n;
  uint32_t cp;
  if ((c & 0xE0) == 0xC0) {
    n = 1;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 2;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 3;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n >= s.size()) return 0;
  for (size_t k = 1; k <= n; ++k) {
    const unsigned char cc = s[i + k];
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return n + 1;
}

// Proto3 strings must be UTF-8; JSON bodies are checked by json_util, form
// and query values here.
bool IsValidUtf8(absl::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = Utf8SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

const FieldDescriptor* FindField(const Descriptor* d, absl::string_view name) {
  if (const FieldDescriptor* f = d->FindFieldByName(std::string(name)))
    return f;
  for (int i = 0; i < d->field_count(); ++i) {
    if (d->field(i)->json_name() == name) return d->field(i);
  }
  return nullptr;
}

// Sets one scalar field from its text form. `name` is the parameter as the
// client wrote it, for the error message.
absl::Status SetScalar(Message* msg, const FieldDescriptor* f,
                       absl::string_view name, absl::string_view text) {
  const Reflection* r = msg->GetReflection();
  const bool rep = f->is_repeated();
  auto bad = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": ", what));
  };
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      if (f->type() == FieldDescriptor::TYPE_BYTES) {
        return bad("bytes fields are not accepted as parameters");
      }
      if (!IsValidUtf8(text)) return bad("not valid UTF-8");
      rep ? r->AddString(msg, f, std::string(text))
          : r->SetString(msg, f, std::string(text));
      return absl::OkStatus();
    case FieldDescriptor::CPPTYPE_BOOL: {
      bool v;
      if (text == "true" || text == "1") {
        v = true;
      } else if (text == "false" || text == "0") {
        v = false;
      } else {
        return bad("must be true or false");
      }
      rep ? r->AddBool(msg, f, v) : r->SetBool(msg, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t v;
      if (!absl::SimpleAtoi(text, &v)) return bad("must be an integer");
      rep ? r->AddInt32(msg, f, v) : r->SetInt32(msg, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t v;
      if (!absl::SimpleAtoi(text, &v)) return bad("must be an integer");
      rep ? r->AddInt64(msg, f, v) : r->SetInt64(msg, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t v;
      if (!absl::SimpleAtoi(text, &v))
        return bad("must be an unsigned integer");
      rep ? r->AddUInt32(msg, f, v) : r->SetUInt32(msg, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v;
      if (!absl::SimpleAtoi(text, &v))
        return bad("must be an unsigned integer");
      rep ? r->AddUInt64(msg, f, v) : r->SetUInt64(msg, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT: {
      double v;
      if (!absl::SimpleAtod(text, &v)) return bad("must be a number");
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE) {
        rep ? r->AddDouble(msg, f, v) : r->SetDouble(msg, f, v);
      } else {
        rep ? r->AddFloat(msg, f, static_cast<float>(v))
            : r->SetFloat(msg, f, static_cast<float>(v));
      }
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const auto* value = f->enum_type()->FindValueByName(std::string(text));
      int number;
      if (value == nullptr && absl::SimpleAtoi(text, &number)) {
        value = f->enum_type()->FindValueByNumber(number);
      }
      if (value == nullptr) return bad("unknown value");
      rep ? r->AddEnum(msg, f, value) : r->SetEnum(msg, f, value);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return bad("is an object; send it in a JSON body");
  }
  return bad("unsupported field type");
}

// Binds `path` ("a.b.c", JSON or proto names) to `text`. Unknown names are
// ignored, like unknown JSON fields. `skip` is a top-level field the body
// already covers. A singular field given twice is an error rather than
// "the last one wins": `?mobileNumber=A&mobileNumber=B` must not quietly
// look up B.
absl::Status BindParameter(Message* msg, absl::string_view path,
                           absl::string_view text, const FieldDescriptor* skip,
                           std::set<const FieldDescriptor*>& bound) {
  std::vector<absl::string_view> names = absl::StrSplit(path, '.');
  Message* current = msg;
  std::string json_path;  // errors name fields as the JSON API does
  for (size_t i = 0; i < names.size(); ++i) {
    const FieldDescriptor* f = FindField(current->GetDescriptor(), names[i]);
    if (f == nullptr || (i == 0 && f == skip)) return absl::OkStatus();
    absl::StrAppend(&json_path, i == 0 ? "" : ".", f->json_name());
    if (i + 1 == names.size()) {
      if (!f->is_repeated() && !bound.insert(f).second) {
        return absl::InvalidArgumentError(
            absl::StrCat(json_path, ": given more than once"));
      }
      return SetScalar(current, f, json_path, text);
    }
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || f->is_repeated()) {
      return absl::OkStatus();
    }
    current = current->GetReflection()->MutableMessage(current, f);
  }
  return absl::OkStatus();
}

// What a JSON value must be for field `f`, or "" when `v` fits.
const char* JsonKindProblem(const FieldDescriptor* f,
                            const google::protobuf::Value& v) {
  using K = google::protobuf::Value::KindCase;
  if (v.kind_case() == K::kNullValue) return "";
  if (f->is_repeated()) {
    return v.kind_case() == K::kListValue || f->is_map() ? "" : "an array";
  }
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      return v.kind_case() == K::kStringValue ? "" : "a string";
    case FieldDescriptor::CPPTYPE_BOOL:
      return v.kind_case() == K::kBoolValue ? "" : "true or false";
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return "";  // well-known types take many shapes; json_util decides
    case FieldDescriptor::CPPTYPE_ENUM:
      return v.kind_case() == K::kStringValue ||
                     v.kind_case() == K::kNumberValue
                 ? ""
                 : "a string";
    default:  // numbers may be written as JSON numbers or strings
      return v.kind_case() == K::kNumberValue ||
                     v.kind_case() == K::kStringValue
                 ? ""
                 : "a number";
  }
}

// After json_util refused a body: a message that names the field by its
// JSON name, says what it must be, and quotes nothing of the request (no
// caller name or token in an answer, no invalid UTF-8 in our JSON).
std::string DescribeJsonError(absl::string_view body, const Descriptor* d,
                              absl::string_view detail) {
  const std::string first_line(detail.substr(0, detail.find('\n')));
  google::protobuf::Value any;
  if (!google::protobuf::util::JsonStringToMessage(
           google::protobuf::StringPiece(body.data(), body.size()), &any)
           .ok()) {
    return absl::StrCat("request body is not valid JSON: ", first_line);
  }
  if (!any.has_struct_value()) return "request body must be a JSON object";
  for (const auto& [key, value] : any.struct_value().fields()) {
    const FieldDescriptor* f = FindField(d, key);
    if (f == nullptr) continue;
    if (const char* want = JsonKindProblem(f, value); *want != '\0') {
      return absl::StrCat(f->json_name(), ": must be ", want);
    }
  }
  // json_util names a field by its proto path, "(a.b_c): ...".
  if (absl::StartsWith(first_line, "(")) {
    const size_t close = first_line.find("): ");
    if (close != std::string::npos) {
      std::vector<std::string> names;
      for (absl::string_view part : absl::StrSplit(
               absl::string_view(first_line).substr(1, close - 1), '.')) {
        const FieldDescriptor* f =
            d == nullptr ? nullptr : d->FindFieldByName(std::string(part));
        names.push_back(f == nullptr ? std::string(part) : f->json_name());
        d = f == nullptr ? nullptr : f->message_type();
      }
      return absl::StrCat(absl::StrJoin(names, "."), ": ",
                          first_line.substr(close + 3));
    }
  }
  return absl::StrCat("request body: ", first_line);
}

absl::Status ParseJsonInto(absl::string_view body, Message* target) {
  if (absl::StripAsciiWhitespace(body).empty()) return absl::OkStatus();
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(body.data(), body.size()), target, options);
  if (status.ok()) return absl::OkStatus();
  return absl::InvalidArgumentError(DescribeJsonError(
      body, target->GetDescriptor(),
      absl::string_view(status.message().data(), status.message().size())));
}

}  // namespace

std::optional<BodyFormat> BodyFormatFor(absl::string_view content_type,
                                        absl::string_view body) {
  absl::string_view type = absl::StripAsciiWhitespace(
      content_type.substr(0, content_type.find(';')));
  if (type.empty() || absl::EqualsIgnoreCase(type, "application/json")) {
    return BodyFormat::kJson;
  }
  if (absl::EqualsIgnoreCase(type, "application/x-www-form-urlencoded")) {
    // `curl -d '{...}'` (and HTTP modules built on libcurl) label JSON as a
    // form; no form body starts with '{'.
    if (absl::StartsWith(absl::StripLeadingAsciiWhitespace(body), "{")) {
      return BodyFormat::kJson;
    }
    return BodyFormat::kForm;
  }
  return std::nullopt;
}

absl::Status BuildRequest(const Route& route, const PathBindings& bindings,
                          absl::string_view query, BodyFormat format,
                          absl::string_view body, Message* request) {
  const FieldDescriptor* body_field = nullptr;
  std::set<const FieldDescriptor*> bound;  // singular fields set so far
  if (!route.body.empty()) {
    Message* target = request;
    if (route.body != "*") {
      body_field = request->GetDescriptor()->FindFieldByName(route.body);
      if (body_field == nullptr ||
          body_field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
        return absl::InternalError("route body field is not a message");
      }
      target = request->GetReflection()->MutableMessage(request, body_field);
    }
    if (format == BodyFormat::kJson) {
      RETURN_IF_ERROR(ParseJsonInto(body, target));
    } else {
      auto params = ParseUrlEncoded(body, /*plus_is_space=*/true);
      if (!params.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("request body: ", params.status().message()));
      }
      for (const auto& [k, v] : *params) {
        RETURN_IF_ERROR(BindParameter(target, k, v, nullptr, bound));
      }
    }
  }
  // With body "*" every field comes from the body (as grpc-gateway does).
  if (route.body != "*" && !query.empty()) {
    auto params = ParseUrlEncoded(query, /*plus_is_space=*/false);
    if (!params.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("query: ", params.status().message()));
    }
    for (const auto& [k, v] : *params) {
      RETURN_IF_ERROR(BindParameter(request, k, v, body_field, bound));
    }
  }
  for (const auto& [path, value] : bindings) {
    RETURN_IF_ERROR(BindParameter(request, path, value, nullptr, bound));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ResponseJson(const Route& route,
                                         const Message& response) {
  google::protobuf::util::JsonPrintOptions options;
  std::string out;
  auto print = [&](const Message& m) -> absl::Status {
    std::string one;
    auto s = google::protobuf::util::MessageToJsonString(m, &one, options);
    if (!s.ok()) return absl::InternalError(std::string(s.message()));
    out += one;
    return absl::OkStatus();
  };
  if (route.response_body.empty()) {
    RETURN_IF_ERROR(print(response));
    return out;
  }
  const FieldDescriptor* f =
      response.GetDescriptor()->FindFieldByName(route.response_body);
  const Reflection* r = response.GetReflection();
  if (f == nullptr || f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
    return absl::InternalError("response_body must name a message field");
  }
  if (!f->is_repeated()) {
    RETURN_IF_ERROR(print(r->GetMessage(response, f)));
    return out;
  }
  // A bare JSON array: json_util has no printer for one, so print elements.
  out += '[';
  const int n = r->FieldSize(response, f);
  for (int i = 0; i < n; ++i) {
    if (i > 0) out += ',';
    RETURN_IF_ERROR(print(r->GetRepeatedMessage(response, f, i)));
  }
  out += ']';
  return out;
}

std::string ErrorJson(absl::string_view message) {
  std::string out = "{\"error\":\"";
  for (size_t i = 0; i < message.size();) {
    const unsigned char c = message[i];
    const size_t n = Utf8SequenceLength(message, i);
    if (n == 0) {
      out += "\\ufffd";  // never emit invalid UTF-8 inside our JSON
      ++i;
      continue;
    }
    if (n > 1) {
      out.append(message.data() + i, n);
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    } else {
      out += static_cast<char>(c);
    }
    i += n;
  }
  out += "\"}";
  return out;
}

}  // namespace callpush::gateway
