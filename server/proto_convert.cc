#include "server/proto_convert.h"

#include "google/protobuf/util/time_util.h"

namespace callpush {
namespace {

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) return;
  *out = google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
      absl::ToUnixNanos(t));
}

v1::PushEnvironment EnvironmentToProto(const std::string& env) {
  if (env == "sandbox") return v1::PUSH_ENVIRONMENT_SANDBOX;
  if (env == "production") return v1::PUSH_ENVIRONMENT_PRODUCTION;
  return v1::PUSH_ENVIRONMENT_UNSPECIFIED;
}

v1::PushKind KindToProto(PushKind k) {
  switch (k) {
    case PushKind::kCall:
      return v1::PUSH_KIND_CALL;
    case PushKind::kUpdate:
      return v1::PUSH_KIND_UPDATE;
    case PushKind::kCancel:
      return v1::PUSH_KIND_CANCEL;
  }
  return v1::PUSH_KIND_UNSPECIFIED;
}

}  // namespace

void ToProto(const DeviceRecord& in, v1::Device* out) {
  out->set_id(in.id);
  out->set_mobile_number(in.mobile_number);
  out->set_patient_active(in.patient_active);
  out->set_platform(in.platform == Platform::kIos ? v1::PLATFORM_IOS
                                                  : v1::PLATFORM_ANDROID);
  out->set_app(in.app);
  out->set_environment(EnvironmentToProto(in.environment));
  out->set_has_voip_token(in.voip_token.has_value() && !in.voip_token->empty());
  out->set_has_push_token(in.push_token.has_value() && !in.push_token->empty());
  out->set_inbound_calls_allowed(in.inbound_calls_allowed);
  SetTime(in.token_updated_at, out->mutable_token_updated_at());
  SetTime(in.created_at, out->mutable_created_at());
  SetTime(in.updated_at, out->mutable_updated_at());
}

void ToProto(const PatientRecord& in, v1::Patient* out) {
  out->set_id(in.id);
  out->set_mobile_number(in.mobile_number);
  out->set_active(in.active);
  SetTime(in.created_at, out->mutable_created_at());
  SetTime(in.updated_at, out->mutable_updated_at());
}

void ToProto(const PushAttempt& in, v1::CallPush* out) {
  out->set_call_id(in.call_id);
  out->set_device_id(in.device_id);
  out->set_kind(KindToProto(in.kind));
  out->set_reason(in.reason);
  out->set_provider(in.provider);
  out->set_outcome(PushOutcomeName(in.outcome));
  out->set_provider_status(in.provider_status);
  out->set_provider_reason(in.provider_reason);
  out->set_provider_id(in.provider_id);
  out->set_latency_ms(absl::ToInt64Milliseconds(in.latency));
  out->set_token_invalidated(in.token_invalidated);
  SetTime(in.created_at, out->mutable_created_at());
}

}  // namespace callpush
