// Fuzz target: the credential parsers the push providers load at startup:
// a Google service-account JSON (clients/fcm/service_account.h, then the
// OAuth request built from it), an APNs .p8 key (ApnsTokenProvider, then a
// provider token), an RS256 key (JwtSigner), a client certificate's expiry
// (certificate_expiry.h) and an https token_uri (https_uri.h).
//
// Input: one byte naming the parser ('s' service account, 'a' APNs key,
// 'r' RSA key, 'c' certificate, 'u' URI; any other byte picks one by value),
// an optional newline, then the text. No key material lives in the
// repository: the placeholders below are replaced by keys and a certificate
// made when the fuzzer starts, so seeds can be complete and readable.
//   $EC_P256_KEY, $EC_P384_KEY, $RSA_2048_KEY, $RSA_1024_KEY, $CERT  PEM
//   the same with a _JSON suffix                  PEM escaped for a string
// Beyond not crashing: what loads must work (a token signs, a request
// builds), and no error message quotes the key.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "clients/apns/apns_token_provider.h"
#include "clients/apns/certificate_expiry.h"
#include "clients/apns/jwt_signer.h"
#include "clients/base/clock.h"
#include "clients/fcm/https_uri.h"
#include "clients/fcm/oauth_token_exchange.h"
#include "clients/fcm/service_account.h"
#include "nlohmann/json.hpp"
#include "tests/fuzz/fuzz_support.h"

namespace callpush {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);  // NOLINT(runtime/int)
  return std::string(data, static_cast<size_t>(n));
}

std::string Pkcs8Pem(EVP_PKEY* key) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  FUZZ_CHECK(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0,
                                      nullptr, nullptr) == 1);
  return BioText(bio.get());
}

// A self-signed certificate of `key`, valid for a year from 2024-01-01.
std::string CertificatePem(EVP_PKEY* key) {
  std::unique_ptr<X509, X509Free> cert(X509_new());
  FUZZ_CHECK(cert != nullptr);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), 1704067200);
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), 1704067200 + 365 * 86400);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(
      name, "CN", MBSTRING_ASC,
      reinterpret_cast<const unsigned char*>("callpush fuzz"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  FUZZ_CHECK(X509_sign(cert.get(), key, EVP_sha256()) > 0);
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  FUZZ_CHECK(PEM_write_bio_X509(bio.get(), cert.get()) == 1);
  return BioText(bio.get());
}

// (placeholder, text), longest placeholders first so "$CERT_JSON" is not
// taken for "$CERT" followed by "_JSON".
std::vector<std::pair<std::string, std::string>>* placeholders = nullptr;

void MakePlaceholders() {
  Pkey ec256(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  Pkey ec384(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
  Pkey rsa2048(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
  Pkey rsa1024(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{1024}));
  FUZZ_CHECK(ec256 && ec384 && rsa2048 && rsa1024);
  const std::pair<const char*, std::string> pems[] = {
      {"$EC_P256_KEY", Pkcs8Pem(ec256.get())},
      {"$EC_P384_KEY", Pkcs8Pem(ec384.get())},
      {"$RSA_2048_KEY", Pkcs8Pem(rsa2048.get())},
      {"$RSA_1024_KEY", Pkcs8Pem(rsa1024.get())},
      {"$CERT", CertificatePem(ec256.get())}};
  placeholders = new std::vector<std::pair<std::string, std::string>>();
  for (const auto& [name, pem] : pems) {
    placeholders->emplace_back(std::string(name) + "_JSON",
                               absl::StrReplaceAll(pem, {{"\n", "\\n"}}));
  }
  for (const auto& [name, pem] : pems) placeholders->emplace_back(name, pem);
}

std::string Expand(absl::string_view text) {
  std::vector<std::pair<absl::string_view, absl::string_view>> map;
  for (const auto& [name, value] : *placeholders) map.emplace_back(name, value);
  return absl::StrReplaceAll(text, map);
}

bool IsBase64(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isalnum(c) && c != '+' && c != '/' && c != '=') {
      return false;
    }
  }
  return true;
}

// "Messages never quote the key": neither the PEM armour nor any base64
// line of the key may appear in an error.
void CheckQuotesNoKey(const absl::Status& status, absl::string_view key) {
  const absl::string_view message = status.message();
  FUZZ_CHECK(!absl::StrContains(message, "PRIVATE KEY-----"));
  for (absl::string_view line : absl::StrSplit(key, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.size() >= 24 && IsBase64(line)) {
      FUZZ_CHECK(!absl::StrContains(message, line));
    }
  }
}

void ServiceAccountJson(absl::string_view json) {
  const absl::StatusOr<ServiceAccount> account = ServiceAccount::FromJson(json);
  if (!account.ok()) {
    FUZZ_CHECK(account.status().code() == absl::StatusCode::kInvalidArgument);
    nlohmann::json j = nlohmann::json::parse(json.begin(), json.end(), nullptr,
                                             /*allow_exceptions=*/false);
    if (j.is_object() && j.contains("private_key") &&
        j["private_key"].is_string()) {
      CheckQuotesNoKey(account.status(),
                       j["private_key"].get_ref<const std::string&>());
    }
    return;
  }
  FUZZ_CHECK(!account->project_id.empty() && !account->client_email.empty() &&
             !account->private_key.empty() && !account->token_uri.empty());
  const absl::StatusOr<HttpsUri> uri = ParseHttpsUri(account->token_uri);
  FUZZ_CHECK(uri.ok());
  // What loaded must work: the first token request cannot fail later.
  const absl::StatusOr<http2::Request> request =
      BuildTokenRequest(*account, absl::FromUnixSeconds(1'700'000'000));
  FUZZ_CHECK(request.ok());
  FUZZ_CHECK(request->method == "POST" && request->path == uri->path);
  FUZZ_CHECK(absl::StartsWith(
      request->body,
      "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
      "&assertion="));
  for (char c : request->body) {
    FUZZ_CHECK(absl::ascii_isalnum(c) || absl::StrContains("-._~%&=", c));
  }
}

void ApnsKey(absl::string_view pem) {
  auto provider = ApnsTokenProvider::FromPem("TEAM123456", "KEY1234567", pem,
                                             SystemClock::Get());
  if (!provider.ok()) {
    CheckQuotesNoKey(provider.status(), pem);
    return;
  }
  const absl::StatusOr<std::string> token = (*provider)->Token();
  FUZZ_CHECK(token.ok());
  const std::vector<absl::string_view> parts = absl::StrSplit(*token, '.');
  FUZZ_CHECK(parts.size() == 3);
  FUZZ_CHECK(parts[2].size() == 86);  // 64 bytes r||s in base64url
  FUZZ_CHECK((*provider)->Token().value() == *token);  // cached
}

void RsaKey(absl::string_view pem) {
  const auto signer = JwtSigner::FromPem(JwtSigner::Algorithm::kRs256, pem);
  if (!signer.ok()) {
    CheckQuotesNoKey(signer.status(), pem);
    return;
  }
  const absl::StatusOr<std::string> sig = signer->SignatureOf("fuzz");
  FUZZ_CHECK(sig.ok() && sig->size() >= 256);
}

void Certificate(absl::string_view pem) {
  const absl::StatusOr<absl::Time> expiry = CertificateExpiry(pem);
  if (expiry.ok()) {
    FUZZ_CHECK(*expiry != absl::InfinitePast() &&
               *expiry != absl::InfiniteFuture());
  }
}

void Uri(absl::string_view text) {
  const absl::StatusOr<HttpsUri> uri = ParseHttpsUri(text);
  if (!uri.ok()) return;
  FUZZ_CHECK(!uri->host.empty());
  for (char c : uri->host) {
    FUZZ_CHECK(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-' ||
               c == '.');
  }
  FUZZ_CHECK(uri->port >= 1 && uri->port <= 65535);
  FUZZ_CHECK(absl::StartsWith(uri->path, "/"));
  for (char c : uri->path) {
    FUZZ_CHECK(static_cast<unsigned char>(c) > ' ' && c != 0x7f && c != '#');
  }
}

}  // namespace
}  // namespace callpush

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  callpush::fuzz::QuietLogs();
  callpush::MakePlaceholders();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  absl::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (!text.empty() && text[0] == '\n') text.remove_prefix(1);
  const std::string input = callpush::Expand(text);
  switch (data[0]) {
    case 's':
      callpush::ServiceAccountJson(input);
      return 0;
    case 'a':
      callpush::ApnsKey(input);
      return 0;
    case 'r':
      callpush::RsaKey(input);
      return 0;
    case 'c':
      callpush::Certificate(input);
      return 0;
    case 'u':
      callpush::Uri(input);
      return 0;
  }
  switch (data[0] % 5) {
    case 0:
      callpush::ServiceAccountJson(input);
      break;
    case 1:
      callpush::ApnsKey(input);
      break;
    case 2:
      callpush::RsaKey(input);
      break;
    case 3:
      callpush::Certificate(input);
      break;
    default:
      callpush::Uri(input);
      break;
  }
  return 0;
}
