#include "gateway/transcoder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "callpush/v1/call_service.pb.h"
#include "tests/testing/status_matchers.h"

namespace callpush::gateway {
namespace {

using ::callpush::testing::StatusIs;
using ::testing::HasSubstr;

class TranscoderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto table = RouteTable::Build(
        {v1::CallRequest::descriptor()->file()->FindServiceByName(
            "CallService")});
    ASSERT_TRUE(table.ok());
    table_ = *std::move(table);
    call_ = table_->Find("POST", "/v1/call").route;
    list_ = table_->Find("GET", "/v1/callable-devices").route;
  }

  absl::Status Call(absl::string_view content_type, absl::string_view body,
                    v1::CallRequest* out) {
    auto format = BodyFormatFor(content_type, body);
    if (!format.has_value()) return absl::UnimplementedError("415");
    return BuildRequest(*call_, {}, "", *format, body, out);
  }

  std::unique_ptr<RouteTable> table_;
  const Route* call_ = nullptr;
  const Route* list_ = nullptr;
};

TEST_F(TranscoderTest, JsonBodyWithUnknownFieldsIgnored) {
  v1::CallRequest req;
  ASSERT_TRUE(Call("application/json; charset=utf-8",
                   R"({"deviceId":"d","callId":"c","callerName":"Zoë 王",
                       "extra":{"nested":[1,2]},"another":true})",
                   &req)
                  .ok());
  EXPECT_EQ(req.device_id(), "d");
  EXPECT_EQ(req.call_id(), "c");
  ASSERT_TRUE(req.has_caller_name());
  EXPECT_EQ(req.caller_name(), "Zoë 王");
}

TEST_F(TranscoderTest, ProtoFieldNamesAreAcceptedInJsonToo) {
  v1::CallRequest req;
  ASSERT_TRUE(Call("", R"({"device_id":"d","caller_name":""})", &req).ok());
  EXPECT_EQ(req.device_id(), "d");
  EXPECT_TRUE(req.has_caller_name());  // empty but present: anonymous caller
}

TEST_F(TranscoderTest, EmptyBodyIsAnEmptyObject) {
  v1::CallRequest req;
  EXPECT_TRUE(Call("application/json", "", &req).ok());
  EXPECT_TRUE(Call("application/json", " \r\n", &req).ok());
  EXPECT_EQ(req.ByteSizeLong(), 0u);
}

TEST_F(TranscoderTest, FormBodies) {
  v1::CallRequest req;
  ASSERT_TRUE(Call("application/x-www-form-urlencoded",
                   "deviceId=d&call_id=c%40host&callerName=Ann+Smith&x=1", &req)
                  .ok());
  EXPECT_EQ(req.device_id(), "d");
  EXPECT_EQ(req.call_id(), "c@host");
  EXPECT_EQ(req.caller_name(), "Ann Smith");
  // libcurl-based clients label JSON as a form.
  v1::CallRequest json;
  ASSERT_TRUE(
      Call("application/x-www-form-urlencoded", R"( {"callId":"j"})", &json)
          .ok());
  EXPECT_EQ(json.call_id(), "j");
}

TEST_F(TranscoderTest, BadBodiesNameTheProblem) {
  v1::CallRequest req;
  EXPECT_THAT(
      Call("application/json", R"({"deviceId":5})", &req),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("deviceId")));
  EXPECT_THAT(
      Call("application/json", R"({"callerName":["a"]})", &req),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("callerName")));
  EXPECT_THAT(Call("application/json", "{bad", &req),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not valid JSON")));
  EXPECT_THAT(Call("application/json", "[]", &req),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("must be a JSON object")));
  EXPECT_THAT(
      Call("application/json", R"({"callId":{"a":1}})", &req),
      StatusIs(absl::StatusCode::kInvalidArgument, "callId: must be a string"));
  EXPECT_THAT(Call("application/json", R"({"caller_name":[1]})", &req),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "callerName: must be a string"));
  // Nothing of the request is quoted back (a caller name, a token).
  auto bad_utf8 =
      Call("application/json", "{\"callerName\":\"secret\xff name\"}", &req);
  EXPECT_THAT(bad_utf8, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(bad_utf8.message()),
              ::testing::Not(HasSubstr("secret")));
  EXPECT_THAT(Call("application/x-www-form-urlencoded", "callerName=%FF", &req),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("callerName: not valid UTF-8")));
  EXPECT_THAT(
      Call("application/x-www-form-urlencoded", "callId=%4", &req),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("callId")));
}

TEST_F(TranscoderTest, UnsupportedContentTypes) {
  EXPECT_FALSE(BodyFormatFor("text/plain", "x").has_value());
  EXPECT_FALSE(
      BodyFormatFor("multipart/form-data; boundary=x", "").has_value());
  EXPECT_EQ(BodyFormatFor("Application/JSON", "{}"), BodyFormat::kJson);
}

TEST_F(TranscoderTest, QueryBindsByJsonOrProtoName) {
  for (const char* query :
       {"mobileNumber=%2B447777123456", "mobile_number=%2B447777123456",
        "other=1&mobileNumber=%2B447777123456"}) {
    v1::ListCallableDevicesRequest req;
    ASSERT_TRUE(
        BuildRequest(*list_, {}, query, BodyFormat::kJson, "", &req).ok());
    EXPECT_EQ(req.mobile_number(), "+447777123456") << query;
  }
  v1::ListCallableDevicesRequest req;
  // A literal '+' in a query stays '+': the API document's own URI is
  // ?mobileNumber=+447777123456.
  ASSERT_TRUE(BuildRequest(*list_, {}, "mobileNumber=+447777123456",
                           BodyFormat::kJson, "", &req)
                  .ok());
  EXPECT_EQ(req.mobile_number(), "+447777123456");
}

TEST_F(TranscoderTest, ASingularParameterGivenTwiceIsRefused) {
  for (const char* query :
       {"mobileNumber=%2B447777123456&mobileNumber=%2B447777123457",
        "mobileNumber=%2B447777123456&mobile_number=%2B447777123457"}) {
    v1::ListCallableDevicesRequest req;
    EXPECT_THAT(BuildRequest(*list_, {}, query, BodyFormat::kJson, "", &req),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("given more than once")))
        << query;
  }
  v1::CallRequest req;
  EXPECT_THAT(
      Call("application/x-www-form-urlencoded", "callId=a&callId=b", &req),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("callId: given more than once")));
}

TEST_F(TranscoderTest, ResponseBodyPrintsABareArray) {
  v1::ListCallableDevicesResponse resp;
  EXPECT_THAT(ResponseJson(*list_, resp),
              ::callpush::testing::IsOkAndHolds(std::string("[]")));
  resp.add_devices()->set_id("cbc16ed8-0422-456f-9e15-f269b8a25811");
  resp.add_devices()->set_id("7d7e2fdb-416d-4dc8-a545-e42ee157ef03");
  EXPECT_THAT(ResponseJson(*list_, resp),
              ::callpush::testing::IsOkAndHolds(std::string(
                  R"([{"id":"cbc16ed8-0422-456f-9e15-f269b8a25811"},)"
                  R"({"id":"7d7e2fdb-416d-4dc8-a545-e42ee157ef03"}])")));
}

TEST(ErrorJsonTest, Escapes) {
  EXPECT_EQ(ErrorJson("device rejected inbound call"),
            R"({"error":"device rejected inbound call"})");
  EXPECT_EQ(ErrorJson("a\"b\\c\nd\x01"), R"({"error":"a\"b\\c\nd\u0001"})");
  EXPECT_EQ(ErrorJson("Zo\xC3\xAB \xFF\xC3"),
            R"({"error":"Zoë \ufffd\ufffd"})");
}

}  // namespace
}  // namespace callpush::gateway
