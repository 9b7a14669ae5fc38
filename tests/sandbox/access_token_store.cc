#include "tests/sandbox/access_token_store.h"

#include <openssl/rand.h>

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace callpush::sandbox {

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()),
                 static_cast<int>(bytes)) != 1) {
    abort();  // no randomness: nothing safe to do
  }
  return absl::BytesToHexString(raw);
}

std::string RandomUuid() {
  std::string raw(16, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), 16) != 1) {
    abort();
  }
  raw[6] = static_cast<char>((raw[6] & 0x0f) | 0x40);
  raw[8] = static_cast<char>((raw[8] & 0x3f) | 0x80);
  std::string hex = absl::AsciiStrToUpper(absl::BytesToHexString(raw));
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-",
                      hex.substr(12, 4), "-", hex.substr(16, 4), "-",
                      hex.substr(20));
}

std::string AccessTokenStore::Issue(absl::Time now, absl::Duration lifetime) {
  std::string token = absl::StrCat("ya29.sandbox-", RandomHex(24));
  absl::MutexLock lock(&mu_);
  for (auto it = expiry_.begin(); it != expiry_.end();) {
    it = it->second <= now ? expiry_.erase(it) : std::next(it);
  }
  expiry_[token] = now + lifetime;
  return token;
}

bool AccessTokenStore::IsValid(absl::string_view token, absl::Time now) const {
  absl::MutexLock lock(&mu_);
  auto it = expiry_.find(token);
  return it != expiry_.end() && now < it->second;
}

}  // namespace callpush::sandbox
