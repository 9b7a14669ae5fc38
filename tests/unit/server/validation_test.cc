// Tests for server/validation.h: every rule, its boundary, and that the
// message names the field it was given.
#include "server/validation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/testing/status_matchers.h"

namespace callpush {
namespace {

using ::callpush::testing::IsOk;
using ::callpush::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;

// --- ValidateE164 -----------------------------------------------------------

TEST(ValidationE164Test, AcceptsCanonicalNumbers) {
  EXPECT_THAT(ValidateE164("mobileNumber", "+447777123456"), IsOk());
  EXPECT_THAT(ValidateE164("mobileNumber", "+12015550123"), IsOk());
  EXPECT_THAT(ValidateE164("mobileNumber", "+33612345678"), IsOk());
}

TEST(ValidationE164Test, EmptyIsRequired) {
  EXPECT_THAT(ValidateE164("mobileNumber", ""),
              StatusIs(kInvalid, "mobileNumber: is required"));
}

TEST(ValidationE164Test, RejectsNonCanonicalForms) {
  const char* const kBad[] = {
      "447777123456",       // no "+"
      "+4407777123456",     // national 0 kept: E.164 drops it
      "+44 7777 123456",    // spaces
      "+44-7777-123456",    // dashes
      "+44(0)7777123456",   // national prefix in brackets
      "07777123456",        // national form
      "tel:+447777123456",  // URI
      "+",                  // nothing after "+"
      "+4",                 // too short
      "+0123",              // country codes never start with 0
      "+4477771234567890",  // 16 digits: longer than E.164 allows
      "+447777CALLME",      // letters (libphonenumber would map them)
      "+44777712345a",      // a letter
      " +447777123456",     // leading space
      "+447777123456 ",     // trailing space
  };
  for (const char* number : kBad) {
    EXPECT_THAT(ValidateE164("mobileNumber", number),
                StatusIs(kInvalid, AllOf(StartsWith("mobileNumber: "),
                                         HasSubstr("E.164"))))
        << number;
  }
}

TEST(ValidationE164Test, RejectsNonAsciiDigits) {
  // Arabic-Indic and full-width digits: libphonenumber reads both as
  // +447777123456, but a lookup must already be canonical ASCII.
  EXPECT_THAT(
      ValidateE164("mobileNumber",
                   "+\u0664\u0664\u0667\u0667\u0667\u0667\u0661\u0662\u0663"
                   "\u0664\u0665\u0666"),
      StatusIs(kInvalid, HasSubstr("mobileNumber")));
  EXPECT_THAT(ValidateE164("mobileNumber",
                           "+447777\uFF11\uFF12\uFF13\uFF14\uFF15\uFF16"),
              StatusIs(kInvalid, HasSubstr("mobileNumber")));
}

TEST(ValidationE164Test, RejectsEmbeddedNul) {
  EXPECT_THAT(
      ValidateE164("mobileNumber", absl::string_view("+44777\0123456", 13)),
      StatusIs(kInvalid, HasSubstr("mobileNumber")));
}

TEST(ValidationE164Test, MessageNamesTheGivenField) {
  EXPECT_THAT(ValidateE164("msisdn", "447777123456"),
              StatusIs(kInvalid, StartsWith("msisdn: ")));
  EXPECT_THAT(ValidateE164("msisdn", ""),
              StatusIs(kInvalid, StartsWith("msisdn: ")));
}

// --- CanonicalUuid ----------------------------------------------------------

constexpr char kUuid[] = "cbc16ed8-0422-456f-9e15-f269b8a25811";

TEST(ValidationUuidTest, AcceptsLowerCase) {
  absl::StatusOr<std::string> id = CanonicalUuid("deviceId", kUuid);
  ASSERT_THAT(id, IsOk());
  EXPECT_EQ(*id, kUuid);
}

TEST(ValidationUuidTest, AcceptsUpperAndMixedCaseAndLowersThem) {
  absl::StatusOr<std::string> upper =
      CanonicalUuid("deviceId", "CBC16ED8-0422-456F-9E15-F269B8A25811");
  ASSERT_THAT(upper, IsOk());
  EXPECT_EQ(*upper, kUuid);

  absl::StatusOr<std::string> mixed =
      CanonicalUuid("deviceId", "Cbc16eD8-0422-456f-9E15-f269b8A25811");
  ASSERT_THAT(mixed, IsOk());
  EXPECT_EQ(*mixed, kUuid);
}

TEST(ValidationUuidTest, EmptyIsRequired) {
  EXPECT_THAT(CanonicalUuid("deviceId", ""),
              StatusIs(kInvalid, "deviceId: is required"));
}

TEST(ValidationUuidTest, RejectsMalformed) {
  const char* const kBad[] = {
      "cbc16ed8-0422-456f-9e15-f269b8a2581",     // 35 characters
      "cbc16ed8-0422-456f-9e15-f269b8a258111",   // 37 characters
      "cbc16ed80422456f9e15f269b8a25811",        // no dashes
      "cbc16ed8-0422-456f-9e15f-269b8a25811",    // dash misplaced
      "cbc16ed8_0422_456f_9e15_f269b8a25811",    // wrong separator
      "gbc16ed8-0422-456f-9e15-f269b8a25811",    // non-hex letter
      "cbc16ed8-0422-456f-9e15-f269b8a2581 ",    // trailing space
      "{cbc16ed8-0422-456f-9e15-f269b8a25811}",  // braces
      "urn:uuid:cbc16ed8-0422-456f-9e15-f269",   // urn prefix
      "------------------------------------",    // 36 dashes
  };
  for (const char* value : kBad) {
    EXPECT_THAT(
        CanonicalUuid("deviceId", value),
        StatusIs(kInvalid, AllOf(StartsWith("deviceId: "), HasSubstr("UUID"))))
        << value;
  }
}

TEST(ValidationUuidTest, MessageNamesTheGivenField) {
  EXPECT_THAT(CanonicalUuid("pn-prid", "nope"),
              StatusIs(kInvalid, StartsWith("pn-prid: ")));
}

// --- ValidateCallId ---------------------------------------------------------

TEST(ValidationCallIdTest, AcceptsTypicalSipCallIds) {
  EXPECT_THAT(ValidateCallId("callId", "a84b4c76e66710@pc33.atlanta.com"),
              IsOk());
  EXPECT_THAT(ValidateCallId("callId", "x"), IsOk());
}

TEST(ValidationCallIdTest, EmptyIsRequired) {
  EXPECT_THAT(ValidateCallId("callId", ""),
              StatusIs(kInvalid, "callId: is required"));
}

TEST(ValidationCallIdTest, LengthLimitIs512Bytes) {
  EXPECT_THAT(ValidateCallId("callId", std::string(kMaxCallIdBytes, 'a')),
              IsOk());
  EXPECT_THAT(ValidateCallId("callId", std::string(kMaxCallIdBytes + 1, 'a')),
              StatusIs(kInvalid, "callId: must be at most 512 bytes"));
}

TEST(ValidationCallIdTest, RejectsControlCharacters) {
  const std::string kBad[] = {
      "abc\r\nVia: evil",
      "abc\n",
      "a\tb",
      std::string("a\0b", 3),
      "a\x7f"
      "b",
      "\x1b[31m",
  };
  for (const std::string& value : kBad) {
    EXPECT_THAT(
        ValidateCallId("callId", value),
        StatusIs(kInvalid, "callId: must not contain control characters"));
  }
}

TEST(ValidationCallIdTest, RejectsInvalidUtf8) {
  EXPECT_THAT(ValidateCallId("callId", "abc\xC0\xAF"),
              StatusIs(kInvalid, "callId: must be UTF-8"));
  EXPECT_THAT(ValidateCallId("callId", "abc\xFF"),
              StatusIs(kInvalid, "callId: must be UTF-8"));
}

TEST(ValidationCallIdTest, MessageNamesTheGivenField) {
  EXPECT_THAT(ValidateCallId("Call-ID", ""),
              StatusIs(kInvalid, StartsWith("Call-ID: ")));
}

// --- ValidateCallerName -----------------------------------------------------

TEST(ValidationCallerNameTest, MissingIsRejected) {
  EXPECT_THAT(ValidateCallerName("callerName", false, ""),
              StatusIs(kInvalid, AllOf(StartsWith("callerName: "),
                                       HasSubstr("required"))));
}

TEST(ValidationCallerNameTest, EmptyIsAcceptedForAnonymousCallers) {
  EXPECT_THAT(ValidateCallerName("callerName", true, ""), IsOk());
}

TEST(ValidationCallerNameTest, AcceptsUtf8InAnyScript) {
  const char* const kNames[] = {
      "Dr Smith",
      "Jos\u00E9 M\u00FCller",                 // Latin-1 accents
      "\u5C71\u7530\u592A\u90CE",              // 山田太郎
      "\u0645\u062D\u0645\u062F",              // محمد
      "\u0410\u043D\u043D\u0430",              // Анна
      "\u05E9\u05E8\u05D4",                    // שרה
      "\u0928\u092E\u0938\u094D\u0924\u0947",  // नमस्ते
      "\U0001F4DE Surgery",                    // 📞, 4-byte UTF-8
      "\U0001F469\u200D\u2695\uFE0F Nurse",    // ZWJ emoji sequence
      "O'Brien-Smith, Mary (GP)",
  };
  for (const char* name : kNames) {
    EXPECT_THAT(ValidateCallerName("callerName", true, name), IsOk()) << name;
  }
}

TEST(ValidationCallerNameTest, AcceptsHighestCodePoints) {
  EXPECT_THAT(ValidateCallerName("callerName", true, "\xEF\xBF\xBD"),  // U+FFFD
              IsOk());
  EXPECT_THAT(ValidateCallerName("callerName", true,
                                 "\xF4\x8F\xBF\xBF"),  // U+10FFFF
              IsOk());
}

TEST(ValidationCallerNameTest, RejectsInvalidUtf8) {
  const std::string kBad[] = {
      "\xC0\xAF",              // overlong "/"
      "\xE0\x80\xAF",          // overlong "/", 3 bytes
      "\xF0\x80\x80\xAF",      // overlong "/", 4 bytes
      "\xED\xA0\x80",          // lone high surrogate U+D800
      "\xED\xBF\xBF",          // lone low surrogate U+DFFF
      "\xF4\x90\x80\x80",      // above U+10FFFF
      "Jos\xC3",               // truncated 2-byte sequence
      "\xE5\xB1",              // truncated 3-byte sequence
      "\xF0\x9F\x93",          // truncated 4-byte sequence
      "\x80",                  // lone continuation byte
      "\xC3\x28",              // bad continuation byte
      "\xFF",                  // never valid
      "\xF8\x88\x80\x80\x80",  // 5-byte form
      "Jos\xE9",               // Latin-1, not UTF-8
  };
  for (const std::string& name : kBad) {
    EXPECT_THAT(ValidateCallerName("callerName", true, name),
                StatusIs(kInvalid, "callerName: must be UTF-8"));
  }
}

TEST(ValidationCallerNameTest, RejectsControlCharacters) {
  const std::string kBad[] = {
      "Dr\nSmith",   "Dr\rSmith", "Dr\tSmith", std::string("Dr\0Smith", 8),
      "Dr\x7fSmith", "\x1b[2J",
  };
  for (const std::string& name : kBad) {
    EXPECT_THAT(
        ValidateCallerName("callerName", true, name),
        StatusIs(kInvalid, "callerName: must not contain control characters"));
  }
}

TEST(ValidationCallerNameTest, LengthLimitIs512Bytes) {
  EXPECT_THAT(ValidateCallerName("callerName", true,
                                 std::string(kMaxCallerNameBytes, 'a')),
              IsOk());
  EXPECT_THAT(ValidateCallerName("callerName", true,
                                 std::string(kMaxCallerNameBytes + 1, 'a')),
              StatusIs(kInvalid, "callerName: must be at most 512 bytes"));

  // The limit is in bytes, not characters: 171 three-byte characters are
  // 513 bytes.
  std::string yamada;
  for (int i = 0; i < 170; ++i) yamada += "\u5C71";  // 510 bytes
  EXPECT_THAT(ValidateCallerName("callerName", true, yamada + "ab"), IsOk());
  EXPECT_THAT(ValidateCallerName("callerName", true, yamada + "\u5C71"),
              StatusIs(kInvalid, HasSubstr("at most 512 bytes")));
}

TEST(ValidationCallerNameTest, MessageNamesTheGivenField) {
  EXPECT_THAT(ValidateCallerName("displayName", false, ""),
              StatusIs(kInvalid, StartsWith("displayName: ")));
  EXPECT_THAT(ValidateCallerName("displayName", true, "\xC0\xAF"),
              StatusIs(kInvalid, StartsWith("displayName: ")));
}

// --- ValidateCancelReason ---------------------------------------------------

TEST(ValidationCancelReasonTest, AcceptsTheTwoDocumentedReasons) {
  EXPECT_THAT(ValidateCancelReason("reason", "cancelled"), IsOk());
  EXPECT_THAT(ValidateCancelReason("reason", "answered_elsewhere"), IsOk());
}

TEST(ValidationCancelReasonTest, EmptyIsRequired) {
  EXPECT_THAT(ValidateCancelReason("reason", ""),
              StatusIs(kInvalid, "reason: is required"));
}

TEST(ValidationCancelReasonTest, RejectsAnythingElseCaseSensitively) {
  const char* const kBad[] = {
      "Cancelled",          "CANCELLED",
      "canceled",           "cancelled ",
      " cancelled",         "answered-elsewhere",
      "Answered_Elsewhere", "answered_elsewhere\n",
      "declined",
  };
  for (const char* reason : kBad) {
    EXPECT_THAT(
        ValidateCancelReason("reason", reason),
        StatusIs(kInvalid,
                 "reason: must be \"cancelled\" or \"answered_elsewhere\""))
        << reason;
  }
}

TEST(ValidationCancelReasonTest, MessageNamesTheGivenField) {
  EXPECT_THAT(ValidateCancelReason("cancelReason", "nope"),
              StatusIs(kInvalid, StartsWith("cancelReason: ")));
}

// --- ValidateAppName --------------------------------------------------------

TEST(ValidationAppNameTest, AcceptsAllowedCharacters) {
  EXPECT_THAT(ValidateAppName("app", "demo"), IsOk());
  EXPECT_THAT(ValidateAppName("app", "com.example.Patient_App-2"), IsOk());
  EXPECT_THAT(ValidateAppName("app", "a"), IsOk());
}

TEST(ValidationAppNameTest, EmptyIsRequired) {
  EXPECT_THAT(ValidateAppName("app", ""),
              StatusIs(kInvalid, "app: is required"));
}

TEST(ValidationAppNameTest, LengthLimitIs64Bytes) {
  EXPECT_THAT(ValidateAppName("app", std::string(kMaxAppBytes, 'a')), IsOk());
  EXPECT_THAT(ValidateAppName("app", std::string(kMaxAppBytes + 1, 'a')),
              StatusIs(kInvalid, "app: must be 1 to 64 of A-Z a-z 0-9 . _ -"));
}

TEST(ValidationAppNameTest, RejectsOtherCharacters) {
  const std::string kBad[] = {
      "my app", "app/../x", "app;drop",
      "app\n",  "\u00E4pp", "app:1",
      "app@x",  "app+1",    std::string("a\0b", 3),
  };
  for (const std::string& app : kBad) {
    EXPECT_THAT(
        ValidateAppName("app", app),
        StatusIs(kInvalid, "app: must be 1 to 64 of A-Z a-z 0-9 . _ -"));
  }
}

TEST(ValidationAppNameTest, MessageNamesTheGivenField) {
  EXPECT_THAT(ValidateAppName("bundle", "x y"),
              StatusIs(kInvalid, StartsWith("bundle: ")));
}

// --- ValidateToken ----------------------------------------------------------

constexpr char kApnsToken[] =
    "740f4707bebcf74f9b7c25d48e3358945f6aa01da5ddb387462c7eaf61bb78ad";

TEST(ValidationTokenTest, IosAcceptsEvenLengthHex) {
  EXPECT_THAT(ValidateToken("voipToken", true, kApnsToken), IsOk());
  EXPECT_THAT(ValidateToken("voipToken", true,
                            "740F4707BEBCF74F9B7C25D48E3358945F6AA01DA5DDB3874"
                            "62C7EAF61BB78AD"),
              IsOk());
  EXPECT_THAT(ValidateToken("voipToken", true, "00"), IsOk());
}

TEST(ValidationTokenTest, EmptyIsAllowedToClearTheToken) {
  EXPECT_THAT(ValidateToken("voipToken", true, ""), IsOk());
  EXPECT_THAT(ValidateToken("pushToken", false, ""), IsOk());
}

TEST(ValidationTokenTest, IosRejectsOddLength) {
  EXPECT_THAT(ValidateToken("voipToken", true, "abc"),
              StatusIs(kInvalid, "voipToken: must be a hex APNs device token"));
  EXPECT_THAT(
      ValidateToken("voipToken", true, std::string(kApnsToken).substr(1)),
      StatusIs(kInvalid, "voipToken: must be a hex APNs device token"));
}

TEST(ValidationTokenTest, IosRejectsNonHex) {
  const char* const kBad[] = {
      "zz",
      "740f4707 bebcf74f",
      "<740f4707 bebcf74f>",  // NSData description form
      "740f4707-bebcf74f",
      "dGVzdA==",  // base64
      "fcm:APA91b",
  };
  for (const char* token : kBad) {
    EXPECT_THAT(
        ValidateToken("voipToken", true, token),
        StatusIs(kInvalid, "voipToken: must be a hex APNs device token"))
        << token;
  }
}

TEST(ValidationTokenTest, FcmAcceptsItsCharset) {
  EXPECT_THAT(ValidateToken("pushToken", false,
                            "dQw4w9WgXcQ:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx_"
                            "Xb.Kt0-_abc"),
              IsOk());
  // An FCM token needs no even length and may be a single character.
  EXPECT_THAT(ValidateToken("pushToken", false, "a"), IsOk());
}

TEST(ValidationTokenTest, FcmRejectsOtherCharacters) {
  const std::string kBad[] = {
      "abc def",
      "abc/def",
      "abc+def",
      "abc=",
      "abc\n",
      "\u00E9t\u00E9",
      std::string("ab\0c", 4),
      "abc\"",
  };
  for (const std::string& token : kBad) {
    EXPECT_THAT(
        ValidateToken("pushToken", false, token),
        StatusIs(kInvalid, "pushToken: must be an FCM registration token"));
  }
}

TEST(ValidationTokenTest, LengthLimitIs4096Bytes) {
  EXPECT_THAT(
      ValidateToken("pushToken", false, std::string(kMaxTokenBytes, 'a')),
      IsOk());
  EXPECT_THAT(
      ValidateToken("voipToken", true, std::string(kMaxTokenBytes, 'a')),
      IsOk());
  EXPECT_THAT(
      ValidateToken("pushToken", false, std::string(kMaxTokenBytes + 1, 'a')),
      StatusIs(kInvalid, "pushToken: must be at most 4096 bytes"));
  EXPECT_THAT(
      ValidateToken("voipToken", true, std::string(kMaxTokenBytes + 2, 'a')),
      StatusIs(kInvalid, "voipToken: must be at most 4096 bytes"));
}

TEST(ValidationTokenTest, MessageNamesTheGivenField) {
  EXPECT_THAT(ValidateToken("fcmToken", false, "a b"),
              StatusIs(kInvalid, StartsWith("fcmToken: ")));
  EXPECT_THAT(ValidateToken("apnsToken", true, "xyz"),
              StatusIs(kInvalid, StartsWith("apnsToken: ")));
}

}  // namespace
}  // namespace callpush
