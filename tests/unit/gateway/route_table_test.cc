#include "gateway/route_table.h"

#include <gtest/gtest.h>

#include "callpush/v1/call_service.pb.h"

namespace callpush::gateway {
namespace {

const google::protobuf::ServiceDescriptor* CallService() {
  return v1::CallRequest::descriptor()->file()->FindServiceByName(
      "CallService");
}

TEST(RouteTableTest, ReadsTheFourDocumentedRoutesFromTheDescriptors) {
  auto table = RouteTable::Build({CallService()});
  ASSERT_TRUE(table.ok()) << table.status();
  ASSERT_EQ((*table)->routes().size(), 4u);

  auto list = (*table)->Find("GET", "/v1/callable-devices");
  ASSERT_EQ(list.kind, RouteTable::Match::kFound);
  EXPECT_EQ(list.route->grpc_method,
            "/callpush.v1.CallService/ListCallableDevices");
  EXPECT_EQ(list.route->response_body, "devices");
  EXPECT_EQ(list.route->body, "");
  EXPECT_EQ(list.route->response_rule.success_code(), 200);

  for (const char* path : {"/v1/call", "/v1/update-call", "/v1/cancel-call"}) {
    auto m = (*table)->Find("POST", path);
    ASSERT_EQ(m.kind, RouteTable::Match::kFound) << path;
    EXPECT_EQ(m.route->body, "*");
    EXPECT_EQ(m.route->response_rule.success_code(), 202);
    EXPECT_TRUE(m.route->response_rule.empty_success_body());
    ASSERT_EQ(m.route->response_rule.empty_body_statuses_size(), 1);
    EXPECT_EQ(m.route->response_rule.empty_body_statuses(0), 404);
  }
}

TEST(RouteTableTest, TellsUnknownPathsFromWrongMethods) {
  auto table = RouteTable::Build({CallService()});
  ASSERT_TRUE(table.ok());
  auto wrong = (*table)->Find("GET", "/v1/call");
  EXPECT_EQ(wrong.kind, RouteTable::Match::kWrongMethod);
  EXPECT_EQ(wrong.allowed_methods, "POST");
  EXPECT_EQ((*table)->Find("DELETE", "/v1/callable-devices").allowed_methods,
            "GET");
  EXPECT_EQ((*table)->Find("GET", "/v1/calls").kind,
            RouteTable::Match::kNoPath);
  EXPECT_EQ((*table)->Find("POST", "/v1/call/").kind,
            RouteTable::Match::kNoPath);
  EXPECT_EQ((*table)->Find("GET", "").kind, RouteTable::Match::kNoPath);
  EXPECT_EQ((*table)->Find("GET", "v1/call").kind, RouteTable::Match::kNoPath);
}

}  // namespace
}  // namespace callpush::gateway
