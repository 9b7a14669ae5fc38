#include "tests/sandbox/jwt_verify.h"

#include <gtest/gtest.h>

#include "tests/sandbox/cert_maker.h"
#include "tests/sandbox/jwt_test_signer.h"

namespace callpush::sandbox {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

class ApnsJwtTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = *GenerateEcP256Key();
    other_key_ = *GenerateEcP256Key();
  }
  std::string Token(EVP_PKEY* key, const std::string& alg,
                    const std::string& kid, const std::string& iss,
                    absl::Time iat) {
    return SignJwtForTest({{"alg", alg}, {"kid", kid}},
                          {{"iss", iss}, {"iat", absl::ToUnixSeconds(iat)}},
                          key);
  }
  ApnsTokenKey Expect() { return {"TEAM", "KID", key_.get()}; }

  PKeyPtr key_;
  PKeyPtr other_key_;
};

TEST_F(ApnsJwtTest, ValidTokenVerifies) {
  std::string jwt = Token(key_.get(), "ES256", "KID", "TEAM", kNow);
  EXPECT_TRUE(VerifyApnsProviderToken(jwt, Expect(), kNow).ok());
  EXPECT_TRUE(
      VerifyApnsProviderToken(jwt, Expect(), kNow + absl::Minutes(59)).ok());
}

TEST_F(ApnsJwtTest, BadSignatureIsPermissionDenied) {
  std::string jwt = Token(other_key_.get(), "ES256", "KID", "TEAM", kNow);
  EXPECT_EQ(VerifyApnsProviderToken(jwt, Expect(), kNow).code(),
            absl::StatusCode::kPermissionDenied);
  // A valid signature over different claims.
  std::string good = Token(key_.get(), "ES256", "KID", "TEAM", kNow);
  std::string forged = Token(key_.get(), "ES256", "KID", "OTHER", kNow);
  std::string spliced =
      forged.substr(0, forged.rfind('.')) + good.substr(good.rfind('.'));
  EXPECT_EQ(VerifyApnsProviderToken(spliced, Expect(), kNow).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(ApnsJwtTest, WrongKidAlgOrIssuerIsPermissionDenied) {
  EXPECT_EQ(
      VerifyApnsProviderToken(Token(key_.get(), "ES256", "OTHER", "TEAM", kNow),
                              Expect(), kNow)
          .code(),
      absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(VerifyApnsProviderToken(
                Token(key_.get(), "ES384", "KID", "TEAM", kNow), Expect(), kNow)
                .code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(
      VerifyApnsProviderToken(Token(key_.get(), "ES256", "KID", "OTHER", kNow),
                              Expect(), kNow)
          .code(),
      absl::StatusCode::kPermissionDenied);
}

TEST_F(ApnsJwtTest, OlderThanOneHourIsUnauthenticated) {
  std::string jwt = Token(key_.get(), "ES256", "KID", "TEAM", kNow);
  EXPECT_EQ(
      VerifyApnsProviderToken(jwt, Expect(), kNow + absl::Minutes(61)).code(),
      absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(
      VerifyApnsProviderToken(jwt, Expect(), kNow - absl::Minutes(5)).code(),
      absl::StatusCode::kUnauthenticated);
}

TEST_F(ApnsJwtTest, GarbageIsInvalidArgument) {
  EXPECT_EQ(VerifyApnsProviderToken("abc", Expect(), kNow).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyApnsProviderToken("a.b.c", Expect(), kNow).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ServiceAccountJwtTest, VerifiesRs256Assertion) {
  PKeyPtr key = *GenerateRsaKey(2048);
  PKeyPtr other = *GenerateRsaKey(2048);
  nlohmann::json claims = {{"iss", "sa@p.iam"},
                           {"aud", "https://t/token"},
                           {"scope", "s"},
                           {"iat", absl::ToUnixSeconds(kNow)},
                           {"exp", absl::ToUnixSeconds(kNow) + 3600}};
  ServiceAccountKey expect{"sa@p.iam", "https://t/token", key.get()};
  std::string jwt = SignJwtForTest({{"alg", "RS256"}}, claims, key.get());
  EXPECT_TRUE(VerifyServiceAccountAssertion(jwt, expect, kNow).ok());
  EXPECT_EQ(
      VerifyServiceAccountAssertion(
          SignJwtForTest({{"alg", "RS256"}}, claims, other.get()), expect, kNow)
          .status()
          .code(),
      absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(VerifyServiceAccountAssertion(jwt, expect, kNow + absl::Hours(2))
                .status()
                .code(),
            absl::StatusCode::kUnauthenticated);
  ServiceAccountKey wrong_aud{"sa@p.iam", "https://x/token", key.get()};
  EXPECT_EQ(VerifyServiceAccountAssertion(jwt, wrong_aud, kNow).status().code(),
            absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace callpush::sandbox
