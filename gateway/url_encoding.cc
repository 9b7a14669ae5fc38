#include "gateway/url_encoding.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace callpush::gateway {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

absl::StatusOr<std::string> PercentDecode(absl::string_view in,
                                          bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      const int hi = i + 1 < in.size() ? HexValue(in[i + 1]) : -1;
      const int lo = i + 2 < in.size() ? HexValue(in[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return absl::InvalidArgumentError("bad percent-escape");
      }
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
ParseUrlEncoded(absl::string_view text, bool plus_is_space) {
  std::vector<std::pair<std::string, std::string>> out;
  for (absl::string_view pair : absl::StrSplit(text, '&', absl::SkipEmpty())) {
    const size_t eq = pair.find('=');
    absl::string_view raw_key = pair.substr(0, eq);
    absl::string_view raw_value =
        eq == absl::string_view::npos ? "" : pair.substr(eq + 1);
    auto key = PercentDecode(raw_key, plus_is_space);
    if (!key.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("parameter name: ", key.status().message()));
    }
    auto value = PercentDecode(raw_value, plus_is_space);
    if (!value.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(*key, ": ", value.status().message()));
    }
    out.emplace_back(*std::move(key), *std::move(value));
  }
  return out;
}

}  // namespace callpush::gateway
