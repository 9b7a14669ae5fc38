// Health and reflection checks for tests, through grpc::GenericStub with the
// few protobuf bytes they need encoded by hand: Debian ships neither
// health.proto nor reflection.proto, and we do not copy them in.
#ifndef CALLPUSH_TESTS_TESTING_GRPC_PROBE_H_
#define CALLPUSH_TESTS_TESTING_GRPC_PROBE_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace callpush::testing {

// grpc.health.v1.Health/Check: the status enum (1 SERVING, 2 NOT_SERVING).
absl::StatusOr<int> HealthCheck(std::shared_ptr<grpc::Channel> channel,
                                const std::string& service);

// grpc.reflection.v1alpha list_services: the raw answer, which names every
// service (callers look for names in it).
absl::StatusOr<std::string> ReflectionListServices(
    std::shared_ptr<grpc::Channel> channel);

}  // namespace callpush::testing

#endif  // CALLPUSH_TESTS_TESTING_GRPC_PROBE_H_
