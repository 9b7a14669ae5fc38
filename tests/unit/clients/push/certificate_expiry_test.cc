#include "clients/apns/certificate_expiry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fstream>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/clients/push/test_keys.h"

namespace callpush {
namespace {

using ::callpush::testing::EcP256Pem;
using ::callpush::testing::IsOk;
using ::callpush::testing::StatusIs;
using ::testing::HasSubstr;

// A self-signed certificate valid until `not_after`, made with OpenSSL here
// so that the expected notAfter is exact.
std::string MakeCertificatePem(absl::Time not_after) {
  std::unique_ptr<BIO, decltype(&BIO_free)> key_bio(
      BIO_new_mem_buf(EcP256Pem().data(), static_cast<int>(EcP256Pem().size())),
      BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr),
      EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  if (key == nullptr || cert == nullptr) return "";
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  ASN1_TIME_set(X509_getm_notBefore(cert.get()),
                absl::ToTimeT(not_after - absl::Hours(24)));
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), absl::ToTimeT(not_after));
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(
      name, "CN", MBSTRING_ASC,
      reinterpret_cast<const unsigned char*>("Apple VoIP Services: test"), -1,
      -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), key.get());
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) return "";
  std::unique_ptr<BIO, decltype(&BIO_free)> out(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_X509(out.get(), cert.get());
  char* data = nullptr;
  long size = BIO_get_mem_data(out.get(), &data);  // NOLINT(runtime/int)
  return std::string(data, static_cast<size_t>(size));
}

std::string WriteTempFile(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(CertificateExpiryTest, ReadsNotAfterToTheSecond) {
  const absl::Time not_after = absl::FromCivil(
      absl::CivilSecond(2031, 5, 6, 7, 8, 9), absl::UTCTimeZone());
  auto expiry = CertificateExpiry(MakeCertificatePem(not_after));
  ASSERT_THAT(expiry, IsOk());
  EXPECT_EQ(*expiry, not_after);
}

TEST(CertificateExpiryTest, ReadsGeneralizedTimeAfter2049) {
  // X.509 switches from UTCTime to GeneralizedTime in 2050.
  const absl::Time not_after = absl::FromCivil(
      absl::CivilSecond(2051, 12, 31, 23, 59, 58), absl::UTCTimeZone());
  auto expiry = CertificateExpiry(MakeCertificatePem(not_after));
  ASSERT_THAT(expiry, IsOk());
  EXPECT_EQ(*expiry, not_after);
}

TEST(CertificateExpiryTest, FirstCertificateOfAChainCounts) {
  const absl::Time leaf = absl::FromUnixSeconds(1'900'000'000);
  const absl::Time ca = absl::FromUnixSeconds(2'000'000'000);
  auto expiry =
      CertificateExpiry(MakeCertificatePem(leaf) + MakeCertificatePem(ca));
  ASSERT_THAT(expiry, IsOk());
  EXPECT_EQ(*expiry, leaf);
}

TEST(CertificateExpiryTest, NotACertificateIsInvalidArgument) {
  EXPECT_THAT(CertificateExpiry(""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(CertificateExpiry("garbage"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // A private key is the usual mix-up of certificateFile and
  // certificateKeyFile.
  EXPECT_THAT(CertificateExpiry(EcP256Pem()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(CertificateExpiry("-----BEGIN CERTIFICATE-----\nAAAA\n"
                                "-----END CERTIFICATE-----\n"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(CertificateExpiryTest, ReadsAFile) {
  const absl::Time not_after = absl::FromUnixSeconds(1'950'000'000);
  const std::string path =
      WriteTempFile("expiry-cert.pem", MakeCertificatePem(not_after));
  auto expiry = ReadCertificateExpiry(path);
  ASSERT_THAT(expiry, IsOk());
  EXPECT_EQ(*expiry, not_after);
}

TEST(CertificateExpiryTest, FileErrorsNameThePath) {
  EXPECT_THAT(ReadCertificateExpiry("/nonexistent/cert.pem"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("/nonexistent/cert.pem")));
  const std::string path = WriteTempFile("expiry-key.pem", EcP256Pem());
  EXPECT_THAT(ReadCertificateExpiry(path),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(path)));
}

}  // namespace
}  // namespace callpush
