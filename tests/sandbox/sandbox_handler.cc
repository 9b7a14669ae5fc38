#include "tests/sandbox/sandbox_handler.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "clients/base/log.h"
#include "clients/base/redact.h"

namespace callpush::sandbox {
namespace {

// Headers as recorded: credentials keep only their scheme.
HeaderList RecordedHeaders(const HeaderList& headers) {
  HeaderList out;
  for (const auto& [name, value] : headers) {
    if (name == "authorization") {
      size_t space = value.find(' ');
      out.emplace_back(name, space == std::string::npos
                                 ? "<redacted>"
                                 : value.substr(0, space) + " <redacted>");
    } else {
      out.emplace_back(name, value);
    }
  }
  return out;
}

}  // namespace

SandboxHandler::SandboxHandler(std::vector<const PushEndpoint*> endpoints,
                               OAuthEndpoint* oauth, RuleBook& rules,
                               DeliveryLog& log, PushObserver* observer)
    : endpoints_(std::move(endpoints)),
      oauth_(oauth),
      rules_(rules),
      log_(log),
      observer_(observer) {}

StreamReply SandboxHandler::Handle(const HttpRequest& request) {
  absl::string_view path = request.path;
  if (oauth_ != nullptr &&
      (path == kTokenPath || absl::StartsWith(path, "/token?"))) {
    StreamReply reply;
    reply.response = oauth_->Handle(request);
    return reply;
  }
  for (const PushEndpoint* endpoint : endpoints_) {
    if (endpoint->Matches(path)) return HandlePush(*endpoint, request);
  }
  StreamReply reply;
  reply.response.status = 404;
  reply.response.headers.emplace_back("content-type", "application/json");
  reply.response.body = R"({"reason":"BadPath"})";
  return reply;
}

StreamReply SandboxHandler::HandlePush(const PushEndpoint& endpoint,
                                       const HttpRequest& request) {
  PushCheck check = endpoint.Check(request);
  StreamReply reply;
  if (check.error) {
    reply.response = *check.error;
  } else if (absl::optional<Rule> rule = rules_.Take(check.token)) {
    reply.action = rule->action;
    reply.delay = absl::Milliseconds(rule->delay_ms);
    if (rule->status != 0 && rule->status != 200) {
      reply.response = endpoint.Reject(request, rule->status, rule->reason,
                                       rule->retry_after);
    } else {
      reply.response = endpoint.Accept(request, check);
    }
  } else {
    reply.response = endpoint.Accept(request, check);
  }

  bool processed = reply.action == StreamAction::kRespond;
  int status = processed ? reply.response.status : 0;
  const uint64_t id = Record(endpoint, request, check, status, reply.action);
  if (processed) {
    DeliveryLog* log = &log_;
    reply.on_answer = [log, id](bool sent) {
      log->SetAnswer(id,
                     sent ? DeliveryAnswer::kSent : DeliveryAnswer::kUnsent);
    };
  }
  if (status == 200 && observer_ != nullptr) {
    observer_->OnDelivered(endpoint.provider(), check.token, request.body);
  }
  return reply;
}

void SandboxHandler::NotProcessed(const HttpRequest& request,
                                  StreamAction why) {
  for (const PushEndpoint* endpoint : endpoints_) {
    if (endpoint->Matches(request.path)) {
      Record(*endpoint, request, endpoint->Check(request), 0, why);
      return;
    }
  }
}

uint64_t SandboxHandler::Record(const PushEndpoint& endpoint,
                                const HttpRequest& request,
                                const PushCheck& check, int status,
                                StreamAction action) {
  Log(LogLevel::kInfo, "push",
      {{"provider", endpoint.provider()},
       {"token", RedactToken(check.token)},
       {"status", std::to_string(status)},
       {"action", StreamActionName(action)}});
  Delivery delivery;
  delivery.provider = endpoint.provider();
  delivery.token = check.token;
  delivery.headers = RecordedHeaders(request.headers);
  delivery.credential =
      CredentialFingerprint(request.Header("authorization").value_or(""));
  delivery.payload = check.payload;
  delivery.status = status;
  delivery.action = action;
  if (action != StreamAction::kRespond) {
    delivery.answer = DeliveryAnswer::kUnsent;
  }
  return log_.Add(std::move(delivery));
}

}  // namespace callpush::sandbox
