#include "clients/apns/certificate_expiry.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <ctime>
#include <limits>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "clients/apns/credential_file.h"

namespace callpush {
namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* x509) const { X509_free(x509); }
};

}  // namespace

absl::StatusOr<absl::Time> CertificateExpiry(absl::string_view pem) {
  if (pem.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return absl::InvalidArgumentError("too large for a certificate");
  }
  std::unique_ptr<BIO, BioFree> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return absl::InternalError("BIO_new_mem_buf failed");
  std::unique_ptr<X509, X509Free> cert(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  // Left on this thread's queue, the PEM error would surface in an
  // unrelated OpenSSL call later.
  ERR_clear_error();
  if (cert == nullptr) {
    return absl::InvalidArgumentError("no PEM certificate");
  }
  const ASN1_TIME* not_after = X509_get0_notAfter(cert.get());
  std::tm tm = {};
  if (not_after == nullptr || ASN1_TIME_to_tm(not_after, &tm) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("the certificate's notAfter is invalid");
  }
  // ASN1_TIME_to_tm gives UTC fields.
  return absl::FromCivil(
      absl::CivilSecond(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                        tm.tm_hour, tm.tm_min, tm.tm_sec),
      absl::UTCTimeZone());
}

absl::StatusOr<absl::Time> ReadCertificateExpiry(const std::string& path) {
  absl::StatusOr<std::string> pem = ReadCredentialFile(path);
  if (!pem.ok()) return pem.status();
  absl::StatusOr<absl::Time> expiry = CertificateExpiry(*pem);
  if (!expiry.ok()) {
    return absl::Status(expiry.status().code(),
                        absl::StrCat(path, ": ", expiry.status().message()));
  }
  return expiry;
}

}  // namespace callpush
