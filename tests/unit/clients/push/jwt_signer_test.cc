#include "clients/apns/jwt_signer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/clients/push/test_keys.h"

namespace callpush {
namespace {

using ::callpush::testing::EcP256Pem;
using ::callpush::testing::IsOk;
using ::callpush::testing::JwtPart;
using ::callpush::testing::Rsa2048Pem;
using ::callpush::testing::StatusIs;
using ::callpush::testing::VerifyJwt;
using ::testing::HasSubstr;
using ::testing::Not;
using Algorithm = JwtSigner::Algorithm;

TEST(Base64UrlEncodeTest, Rfc4648VectorsWithoutPadding) {
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("foobar"), "Zm9vYmFy");
  // The two characters where base64url differs from base64 ('+' and '/').
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
}

TEST(JwtSignerTest, Es256SignatureIsRawRsAndVerifies) {
  auto signer = JwtSigner::FromPem(Algorithm::kEs256, EcP256Pem());
  ASSERT_THAT(signer, IsOk());
  // Many signatures, so that r or s with leading zero bytes (1 in 128) are
  // exercised by the fixed-width conversion.
  for (int i = 0; i < 300; ++i) {
    std::string claims = absl::StrCat("{\"iss\":\"T\",\"iat\":", i, "}");
    auto jwt = signer->Sign(R"({"alg":"ES256","kid":"K"})", claims);
    ASSERT_THAT(jwt, IsOk());
    ASSERT_TRUE(VerifyJwt(*jwt, EcP256Pem(), "ES256")) << i;
    EXPECT_EQ(JwtPart(*jwt, 0)["kid"], "K");
    EXPECT_EQ(JwtPart(*jwt, 1)["iat"], i);
  }
  auto sig = signer->SignatureOf("abc");
  ASSERT_THAT(sig, IsOk());
  EXPECT_EQ(sig->size(), 64u);
}

TEST(JwtSignerTest, Rs256SignatureVerifies) {
  auto signer = JwtSigner::FromPem(Algorithm::kRs256, Rsa2048Pem());
  ASSERT_THAT(signer, IsOk());
  auto jwt = signer->Sign(R"({"alg":"RS256","typ":"JWT"})", R"({"a":1})");
  ASSERT_THAT(jwt, IsOk());
  EXPECT_TRUE(VerifyJwt(*jwt, Rsa2048Pem(), "RS256"));
  // PKCS#1 v1.5 is deterministic, and 2048-bit signatures are 256 bytes.
  auto again = signer->Sign(R"({"alg":"RS256","typ":"JWT"})", R"({"a":1})");
  EXPECT_EQ(*jwt, *again);
  EXPECT_EQ(signer->SignatureOf("x")->size(), 256u);
}

TEST(JwtSignerTest, TamperedTokenDoesNotVerify) {
  auto signer = JwtSigner::FromPem(Algorithm::kEs256, EcP256Pem());
  ASSERT_THAT(signer, IsOk());
  std::string jwt = *signer->Sign(R"({"alg":"ES256"})", R"({"iss":"A"})");
  std::string other = *signer->Sign(R"({"alg":"ES256"})", R"({"iss":"B"})");
  std::string forged =
      jwt.substr(0, jwt.rfind('.')) + other.substr(other.rfind('.'));
  EXPECT_FALSE(VerifyJwt(forged, EcP256Pem(), "ES256"));
  EXPECT_FALSE(VerifyJwt(jwt, testing::GenerateEcPem("P-256"), "ES256"));
}

TEST(JwtSignerTest, KeyMustSuitTheAlgorithm) {
  EXPECT_THAT(
      JwtSigner::FromPem(Algorithm::kEs256, Rsa2048Pem()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("EC key")));
  EXPECT_THAT(
      JwtSigner::FromPem(Algorithm::kRs256, EcP256Pem()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("RSA key")));
  EXPECT_THAT(
      JwtSigner::FromPem(Algorithm::kEs256, testing::GenerateEcPem("P-384")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("P-256")));
  EXPECT_THAT(
      JwtSigner::FromPem(Algorithm::kRs256, testing::GenerateRsaPem(1024)),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("2048")));
}

TEST(JwtSignerTest, GarbageAndEncryptedKeysFailWithoutQuotingThem) {
  const std::string garbage =
      "-----BEGIN PRIVATE KEY-----\nSECRETSECRET\n-----END PRIVATE KEY-----\n";
  auto bad = JwtSigner::FromPem(Algorithm::kEs256, garbage);
  EXPECT_THAT(bad, StatusIs(absl::StatusCode::kInvalidArgument,
                            Not(HasSubstr("SECRETSECRET"))));
  EXPECT_THAT(JwtSigner::FromPem(Algorithm::kEs256, ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // Must fail, not prompt for a passphrase on the terminal.
  EXPECT_THAT(
      JwtSigner::FromPem(Algorithm::kEs256, testing::EncryptedEcP256Pem()),
      StatusIs(absl::StatusCode::kInvalidArgument));
  // A failure leaves no OpenSSL error behind for the next user.
  EXPECT_THAT(JwtSigner::FromPem(Algorithm::kEs256, EcP256Pem()), IsOk());
}

}  // namespace
}  // namespace callpush
