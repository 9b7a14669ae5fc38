#include "gateway/bearer_auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace callpush::gateway {
namespace {

std::string Digest(absl::string_view token) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(),
         out);
  return std::string(reinterpret_cast<char*>(out), sizeof(out));
}

}  // namespace

absl::StatusOr<BearerAuth> BearerAuth::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  std::vector<std::string> tokens;
  for (absl::string_view line : absl::StrSplit(text.str(), '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || absl::StartsWith(line, "#")) continue;
    tokens.emplace_back(line);
  }
  if (tokens.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, " holds no token"));
  }
  return FromTokens(std::move(tokens));
}

BearerAuth BearerAuth::FromTokens(std::vector<std::string> tokens) {
  BearerAuth auth;
  for (const auto& t : tokens) auth.digests_.push_back(Digest(t));
  return auth;
}

bool BearerAuth::Allows(absl::string_view authorization) const {
  constexpr absl::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(authorization.substr(0, kScheme.size()),
                              kScheme)) {
    return false;
  }
  const std::string presented =
      Digest(absl::StripAsciiWhitespace(authorization.substr(kScheme.size())));
  bool ok = false;
  for (const auto& d : digests_) {
    ok |= CRYPTO_memcmp(d.data(), presented.data(), d.size()) == 0;
  }
  return ok;
}

}  // namespace callpush::gateway
