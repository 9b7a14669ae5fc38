#include "server/call_coordinator.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "clients/base/log.h"
#include "clients/base/redact.h"

namespace callpush {

struct CallCoordinator::Push {
  PushKind kind = PushKind::kCall;
  PushRequest request;
  absl::Time deadline;
  int64_t attempt_id = 0;  // claimed call_pushes row (Call only)
  std::string provider;    // ProviderFor the device, for the observer
  PushAttempt attempt;
  Done done;
};

namespace {

absl::Status NoValidDevice(absl::string_view why) {
  return absl::NotFoundError(absl::StrCat("no valid device: ", why));
}

// Which token a push of `kind` uses, or an empty optional if the device is
// not valid for it (DESIGN section 2: "valid device").
// The first of `kinds` (the sender's preference) the device has a token of,
// or nullopt: the device is not valid for this push (DESIGN section 2).
std::optional<std::pair<TokenKind, std::string>> TokenFor(
    const std::vector<TokenKind>& kinds, const DeviceRecord& d) {
  for (TokenKind kind : kinds) {
    const std::optional<std::string>& token =
        kind == TokenKind::kVoip ? d.voip_token : d.push_token;
    if (token.has_value() && !token->empty()) {
      return std::make_pair(kind, *token);
    }
  }
  return std::nullopt;
}

}  // namespace

CallCoordinator::CallCoordinator(DeviceStore& store, PushSender& pusher,
                                 const Clock& clock,
                                 CallCoordinatorOptions options)
    : store_(store), pusher_(pusher), clock_(clock), options_(options) {}

void CallCoordinator::ListCallableDevices(
    const std::string& mobile_number, absl::Time deadline,
    absl::AnyInvocable<void(absl::StatusOr<std::vector<std::string>>)> done) {
  store_.ListCallableDevices(mobile_number, deadline, std::move(done));
}

std::shared_ptr<CallCoordinator::Push> CallCoordinator::NewPush(
    PushKind kind, std::string device_id, std::string call_id,
    absl::Time deadline, Done done) {
  auto op = std::make_shared<Push>();
  op->kind = kind;
  op->deadline = deadline;
  op->request.kind = kind;
  op->request.device_id = std::move(device_id);
  op->request.call_id = std::move(call_id);
  op->done = std::move(done);
  return op;
}

void CallCoordinator::Call(CallArgs args, absl::Time deadline, Done done) {
  auto op = NewPush(PushKind::kCall, std::move(args.device_id),
                    std::move(args.call_id), deadline, std::move(done));
  op->request.caller_name = std::move(args.caller_name);
  Start(std::move(op));
}

void CallCoordinator::UpdateCall(CallArgs args, absl::Time deadline,
                                 Done done) {
  auto op = NewPush(PushKind::kUpdate, std::move(args.device_id),
                    std::move(args.call_id), deadline, std::move(done));
  op->request.caller_name = std::move(args.caller_name);
  Start(std::move(op));
}

void CallCoordinator::CancelCall(CancelArgs args, absl::Time deadline,
                                 Done done) {
  auto op = NewPush(PushKind::kCancel, std::move(args.device_id),
                    std::move(args.call_id), deadline, std::move(done));
  op->request.reason = std::move(args.reason);
  Start(std::move(op));
}

void CallCoordinator::Start(std::shared_ptr<Push> op) {
  const std::string device_id = op->request.device_id;
  store_.GetDevice(device_id, op->deadline,
                   [this, op](absl::StatusOr<DeviceRecord> device) mutable {
                     OnDevice(std::move(op), std::move(device));
                   });
}

void CallCoordinator::OnDevice(std::shared_ptr<Push> op,
                               absl::StatusOr<DeviceRecord> device) {
  if (!device.ok()) {
    op->done(absl::IsNotFound(device.status()) ? NoValidDevice("unknown device")
                                               : device.status());
    return;
  }
  if (!device->patient_active) {
    op->done(NoValidDevice("patient is not active"));
    return;
  }
  auto token = TokenFor(
      pusher_.TokenKindsFor(device->platform, device->app, op->kind), *device);
  if (!token) {
    op->done(NoValidDevice(op->kind == PushKind::kCall
                               ? "device has no VoIP push token"
                               : "device has no push token"));
    return;
  }
  if (op->kind == PushKind::kCall && !device->inbound_calls_allowed) {
    op->done(absl::PermissionDeniedError(kRejectedInboundCall));
    return;
  }
  op->request.platform = device->platform;
  op->request.app = device->app;
  op->request.environment = device->environment;
  op->request.token_kind = token->first;
  op->request.token = std::move(token->second);
  if (op->kind != PushKind::kCall) {
    SendPush(std::move(op));
    return;
  }
  std::string provider = pusher_.ProviderFor(device->platform, device->app);
  const std::string call_id = op->request.call_id;
  const std::string device_id = op->request.device_id;
  store_.ClaimCall(call_id, device_id, provider, options_.ring_window,
                   op->deadline,
                   [this, op](absl::StatusOr<CallClaim> claim) mutable {
                     if (!claim.ok()) {
                       op->done(claim.status());
                       return;
                     }
                     if (claim->claimed) {
                       op->attempt_id = claim->attempt_id;
                       SendPush(std::move(op));
                     } else if (claim->existing == PushOutcome::kAccepted) {
                       // A repeat within the ring window: the phone is
                       // already ringing, and a second VoIP push would ring
                       // it twice.
                       op->done(absl::OkStatus());
                     } else {
                       op->done(absl::AbortedError(
                           "a push for this callId and deviceId is in flight"));
                     }
                   });
}

void CallCoordinator::SendPush(std::shared_ptr<Push> op) {
  op->request.deadline = op->deadline;
  op->request.expires_at = clock_.Now() + options_.ring_window;
  op->attempt.id = op->attempt_id;
  op->attempt.call_id = op->request.call_id;
  op->attempt.device_id = op->request.device_id;
  op->attempt.kind = op->kind;
  op->attempt.reason = op->request.reason;
  op->attempt.created_at = clock_.Now();
  if (options_.observer != nullptr) {
    op->provider = pusher_.ProviderFor(op->request.platform, op->request.app);
    options_.observer->OnPushSent(op->provider);
  }
  pusher_.Send(op->request, [this, op](PushResult result) mutable {
    OnPushResult(std::move(op), std::move(result));
  });
}

void CallCoordinator::OnPushResult(std::shared_ptr<Push> op,
                                   PushResult result) {
  if (options_.observer != nullptr) {
    options_.observer->OnPushResult(op->provider, op->kind, result);
  }
  PushAttempt& a = op->attempt;
  a.provider = result.provider;
  a.provider_status = result.http_status;
  a.provider_reason = result.reason;
  a.provider_id = result.provider_id;
  a.latency = result.latency;
  switch (result.outcome) {
    case PushResult::Outcome::kAccepted:
      a.outcome = PushOutcome::kAccepted;
      Record(std::move(op), absl::OkStatus());
      return;
    case PushResult::Outcome::kFailed: {
      a.outcome = PushOutcome::kFailed;
      absl::Status answer =
          result.deadline_exceeded
              ? absl::DeadlineExceededError(
                    "push provider did not answer before the deadline")
              : absl::UnavailableError(
                    absl::StrCat("push not delivered: ", result.reason));
      Record(std::move(op), answer);
      return;
    }
    case PushResult::Outcome::kRejected:
      a.outcome = PushOutcome::kRejected;
      break;
  }
  if (!result.dead_token) {
    // Usually our configuration (bundleId, projectId, payload), not the
    // device: loud, since every call of the app will fail the same way.
    Log(LogLevel::kWarning, "push rejected by the provider",
        {{"provider", result.provider},
         {"app", op->request.app},
         {"status", std::to_string(result.http_status)},
         {"reason", result.reason}});
    Record(std::move(op),
           absl::UnavailableError(absl::StrCat(
               "push provider rejected the push: ", result.reason)));
    return;
  }
  // The provider says the token is dead: the device is no longer valid.
  Log(LogLevel::kInfo, "push token invalidated",
      {{"device_id", op->request.device_id},
       {"token", RedactToken(op->request.token)},
       {"reason", result.reason}});
  store_.InvalidateToken(
      op->request.device_id, op->request.token, result.token_invalidated_at,
      AfterPushDeadline(*op), [this, op](absl::StatusOr<bool> cleared) mutable {
        op->attempt.token_invalidated = cleared.ok() && *cleared;
        if (op->attempt.token_invalidated && options_.observer != nullptr) {
          options_.observer->OnTokenInvalidated(op->attempt.provider);
        }
        if (!cleared.ok()) {
          Log(LogLevel::kWarning, "could not clear dead token",
              {{"device_id", op->request.device_id},
               {"error", cleared.status().ToString()}});
        }
        Record(std::move(op), NoValidDevice("push token rejected by provider"));
      });
}

absl::Time CallCoordinator::AfterPushDeadline(const Push& op) const {
  // What follows the provider's answer (clearing a dead token, recording the
  // attempt) must not be cut off by a request deadline the push nearly
  // spent: a dead token left in place would be pushed again on every call.
  return std::max(op.deadline, clock_.Now() + absl::Seconds(1));
}

void CallCoordinator::Record(std::shared_ptr<Push> op, absl::Status answer) {
  // Recording is best effort: once the provider has answered, the answer to
  // the caller stands (a 202 whose log row failed still rings the phone).
  store_.RecordPush(
      op->attempt, AfterPushDeadline(*op),
      [op, answer](absl::Status s) mutable {
        if (!s.ok()) {
          Log(LogLevel::kWarning, "could not record push attempt",
              {{"call_id", op->attempt.call_id}, {"error", s.ToString()}});
        }
        op->done(answer);
      });
}

}  // namespace callpush
