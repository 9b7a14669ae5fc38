#include "tests/testing/grpc_probe.h"

#include <grpcpp/generic/generic_stub.h>

#include "absl/strings/str_cat.h"

namespace callpush::testing {
namespace {

// One length-delimited field: tag, varint length, bytes.
std::string Field(int number, const std::string& value) {
  std::string out(1, static_cast<char>((number << 3) | 2));
  size_t n = value.size();
  do {
    uint8_t b = n & 0x7f;
    n >>= 7;
    out.push_back(static_cast<char>(n ? (b | 0x80) : b));
  } while (n);
  return out + value;
}

grpc::ByteBuffer ToBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string FromBuffer(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  (void)buffer.Dump(&slices);
  std::string out;
  for (const auto& s : slices) {
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return out;
}

bool Next(grpc::CompletionQueue& cq) {
  void* tag;
  bool ok = false;
  auto r = cq.AsyncNext(
      &tag, &ok, std::chrono::system_clock::now() + std::chrono::seconds(5));
  return r == grpc::CompletionQueue::GOT_EVENT && ok;
}

}  // namespace

absl::StatusOr<int> HealthCheck(std::shared_ptr<grpc::Channel> channel,
                                const std::string& service) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  grpc::CompletionQueue cq;
  grpc::ByteBuffer request = ToBuffer(Field(1, service));
  auto reader =
      stub.PrepareUnaryCall(&ctx, "/grpc.health.v1.Health/Check", request, &cq);
  reader->StartCall();
  grpc::ByteBuffer response;
  grpc::Status status;
  reader->Finish(&response, &status, reinterpret_cast<void*>(1));
  if (!Next(cq)) return absl::DeadlineExceededError("health check: no answer");
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        status.error_message());
  }
  std::string bytes = FromBuffer(response);
  // HealthCheckResponse{status = 1 (varint)}; absent means UNKNOWN (0).
  if (bytes.size() >= 2 && bytes[0] == 0x08) return static_cast<int>(bytes[1]);
  return 0;
}

absl::StatusOr<std::string> ReflectionListServices(
    std::shared_ptr<grpc::Channel> channel) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::CompletionQueue cq;
  auto call = stub.PrepareCall(
      &ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
      &cq);
  call->StartCall(reinterpret_cast<void*>(1));
  if (!Next(cq)) return absl::UnavailableError("reflection: cannot start");
  // ServerReflectionRequest{list_services (7) = "*"}
  call->Write(ToBuffer(Field(7, "*")), reinterpret_cast<void*>(2));
  if (!Next(cq)) return absl::UnavailableError("reflection: write failed");
  grpc::ByteBuffer response;
  call->Read(&response, reinterpret_cast<void*>(3));
  if (!Next(cq)) return absl::UnavailableError("reflection: no answer");
  call->WritesDone(reinterpret_cast<void*>(4));
  Next(cq);
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  Next(cq);
  return FromBuffer(response);
}

}  // namespace callpush::testing
