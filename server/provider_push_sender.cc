#include "server/provider_push_sender.h"

#include <optional>
#include <tuple>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "clients/apns/apns_app_config.h"
#include "clients/apns/apns_request.h"
#include "clients/apns/apns_response.h"
#include "clients/apns/apns_token_provider.h"
#include "clients/apns/certificate_expiry.h"
#include "clients/base/log.h"
#include "clients/fcm/fcm_app_config.h"
#include "clients/fcm/fcm_request.h"
#include "clients/fcm/fcm_response.h"
#include "clients/fcm/fcm_token_cache.h"
#include "clients/fcm/https_uri.h"
#include "clients/fcm/oauth_token_exchange.h"
#include "clients/fcm/service_account.h"
#include "clients/http2/http2_pool.h"

namespace callpush {
namespace {

constexpr char kApnsProduction[] = "api.push.apple.com:443";
constexpr char kApnsSandbox[] = "api.sandbox.push.apple.com:443";
constexpr char kFcmEndpoint[] = "fcm.googleapis.com:443";
// Sends per push, whatever asked for the resend (429/5xx, FCM 401): DESIGN
// section 5 allows one or two tries within the deadline.
constexpr int kMaxTries = 2;
// A resend needs at least this much of the deadline left after its
// Retry-After wait to be worth it.
constexpr absl::Duration kMinRetryTime = absl::Milliseconds(20);
// How long an OAuth token fetch may take.
constexpr absl::Duration kTokenFetchTimeout = absl::Seconds(5);

// Runs a callback once, whichever of its callers comes first.
class OnceCallback {
 public:
  explicit OnceCallback(
      absl::AnyInvocable<void(absl::StatusOr<std::string>)> fn)
      : fn_(std::move(fn)) {}
  void Run(absl::StatusOr<std::string> value) {
    absl::AnyInvocable<void(absl::StatusOr<std::string>)> fn;
    {
      absl::MutexLock lock(&mu_);
      fn = std::move(fn_);
      fn_ = nullptr;
    }
    if (fn) fn(std::move(value));
  }

 private:
  absl::Mutex mu_;
  absl::AnyInvocable<void(absl::StatusOr<std::string>)> fn_
      ABSL_GUARDED_BY(mu_);
};

PushResult Failed(std::string provider, std::string reason) {
  PushResult result;
  result.outcome = PushResult::Outcome::kFailed;
  result.provider = std::move(provider);
  result.reason = std::move(reason);
  return result;
}

absl::Status Annotate(const absl::Status& status, absl::string_view prefix) {
  return absl::Status(status.code(), absl::StrCat(prefix, status.message()));
}

}  // namespace

struct ProviderPushSender::ApnsApp {
  ApnsAppConfig config;
  std::shared_ptr<ApnsTokenProvider> tokens;  // null: certificate auth
  http2::Pool* production = nullptr;
  http2::Pool* sandbox = nullptr;
};

struct ProviderPushSender::FcmApp {
  explicit FcmApp(const Clock& clock) : cache(clock) {}
  std::string name;  // the app's, for metrics
  FcmAppConfig config;
  ServiceAccount account;
  HttpsUri token_uri;
  FcmTokenCache cache;
  http2::Pool* pool = nullptr;
  http2::Pool* oauth_pool = nullptr;

  absl::Mutex mu;
  bool refreshing ABSL_GUARDED_BY(mu) = false;
  std::string last_error ABSL_GUARDED_BY(mu);
  std::vector<absl::AnyInvocable<void(absl::StatusOr<std::string>)>> waiters
      ABSL_GUARDED_BY(mu);
};

struct ProviderPushSender::App {
  std::unique_ptr<ApnsApp> apns;
  std::unique_ptr<FcmApp> fcm;
};

// One Send: the request (kept for a resend) and its callback.
struct ProviderPushSender::Pending {
  PushRequest request;
  absl::AnyInvocable<void(PushResult)> done;
  absl::Time started;
  int tries = 0;              // requests handed to the pool so far
  bool auth_retried = false;  // the one FCM 401 resend was used
  // The next send waits in the pool until then (the provider's Retry-After).
  absl::Time not_before = absl::InfinitePast();
};

ProviderPushSender::ProviderPushSender(const Clock& clock,
                                       PushObserver* observer)
    : clock_(clock), observer_(observer) {}

ProviderPushSender::~ProviderPushSender() { Shutdown(absl::ZeroDuration()); }

absl::StatusOr<http2::Pool*> ProviderPushSender::PoolFor(
    const std::string& provider, const std::string& endpoint, int default_port,
    const std::string& ca_file, const std::string& cert_file,
    const std::string& key_file, int connections) {
  http2::PoolOptions options;
  const size_t colon = endpoint.rfind(':');
  int port = default_port;
  options.host = endpoint.substr(0, colon);
  if (colon != std::string::npos &&
      (!absl::SimpleAtoi(endpoint.substr(colon + 1), &port) || port <= 0 ||
       port > 65535)) {
    return absl::InvalidArgumentError(
        absl::StrCat("endpoint ", endpoint, ": bad port"));
  }
  if (options.host.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("endpoint ", endpoint, ": no host"));
  }
  options.port = static_cast<uint16_t>(port);
  options.ca_file = ca_file;
  options.client_cert_file = cert_file;
  options.client_key_file = key_file;
  if (connections > 0) options.connections = connections;
  const std::string key = absl::StrCat(options.host, "\n", port, "\n", ca_file,
                                       "\n", cert_file, "\n", key_file);
  auto it = pools_.find(key);
  if (it != pools_.end()) return it->second.pool.get();
  std::string label = absl::StrCat(options.host, ":", port);
  auto pool = http2::NewPool(std::move(options), clock_);
  if (!pool.ok()) return pool.status();
  http2::Pool* raw = pool->get();
  pools_.emplace(key, PoolEntry{*std::move(pool), provider, std::move(label)});
  return raw;
}

absl::StatusOr<std::unique_ptr<ProviderPushSender>> ProviderPushSender::Create(
    const v1::PushConfig& config, const Clock& clock, PushObserver* observer) {
  std::unique_ptr<ProviderPushSender> sender(
      new ProviderPushSender(clock, observer));
  std::map<std::pair<std::string, std::string>,
           std::shared_ptr<ApnsTokenProvider>>
      apns_keys;
  for (int i = 0; i < config.apps_size(); ++i) {
    const v1::AppConfig& proto = config.apps(i);
    const std::string where =
        absl::StrCat("apps[", i, "] (", proto.name(), ")");
    auto app = std::make_unique<App>();
    if (proto.has_apns()) {
      const v1::ApnsAppConfig& p = proto.apns();
      auto apns = std::make_unique<ApnsApp>();
      ApnsAppConfig& c = apns->config;
      c.bundle_id = p.bundle_id();
      c.team_id = p.team_id();
      c.key_id = p.key_id();
      c.key_file = p.key_file();
      c.certificate_file = p.certificate_file();
      c.certificate_key_file = p.certificate_key_file();
      if (!p.default_environment().empty()) {
        c.default_environment = p.default_environment();
      }
      c.update_as_voip = p.update_as_voip();
      c.cancel_as_voip = p.cancel_as_voip();
      c.hide_caller_name = p.hide_caller_name();
      if (c.uses_token_auth()) {
        auto& shared = apns_keys[{c.team_id, c.key_id}];
        sender->apns_key_apps_[{c.team_id, c.key_id}].push_back(proto.name());
        if (shared == nullptr) {
          ApnsTokenOptions token_options;
          if (observer != nullptr) {
            // The apps of the key are all known by the first Token() call.
            token_options.on_refresh =
                [sender = sender.get(), team_id = c.team_id, key_id = c.key_id](
                    const absl::Status& s, absl::Time at) {
                  sender->OnApnsTokenRefresh(team_id, key_id, s.ok(), at);
                };
          }
          auto provider = ApnsTokenProvider::FromKeyFile(
              c.team_id, c.key_id, c.key_file, clock, token_options);
          if (!provider.ok()) {
            return Annotate(provider.status(), absl::StrCat(where, ": apns: "));
          }
          shared = *std::move(provider);
        }
        apns->tokens = shared;
      }
      if (!c.uses_token_auth()) {
        // Read here, not only by the TLS context, so that a bad file names
        // the config field and the expiry can be exported.
        auto expiry = ReadCertificateExpiry(c.certificate_file);
        if (!expiry.ok()) {
          return absl::InvalidArgumentError(absl::StrCat(
              where, ": apns: certificateFile: ", expiry.status().message()));
        }
        sender->certificate_expiries_[proto.name()] = *expiry;
      }
      const std::string cert = c.uses_token_auth() ? "" : c.certificate_file;
      const std::string key = c.uses_token_auth() ? "" : c.certificate_key_file;
      for (auto [endpoint, fallback, target] :
           {std::make_tuple(p.production_endpoint(), kApnsProduction,
                            &apns->production),
            std::make_tuple(p.sandbox_endpoint(), kApnsSandbox,
                            &apns->sandbox)}) {
        auto pool =
            sender->PoolFor("apns", endpoint.empty() ? fallback : endpoint, 443,
                            p.ca_file(), cert, key, p.connections());
        if (!pool.ok()) {
          return Annotate(pool.status(), absl::StrCat(where, ": apns: "));
        }
        *target = *pool;
      }
      app->apns = std::move(apns);
    }
    if (proto.has_fcm()) {
      const v1::FcmAppConfig& p = proto.fcm();
      auto fcm = std::make_unique<FcmApp>(clock);
      fcm->name = proto.name();
      auto account = ServiceAccount::FromJsonFile(p.service_account_file());
      if (!account.ok()) {
        return Annotate(account.status(), absl::StrCat(where, ": fcm: "));
      }
      fcm->account = *std::move(account);
      auto uri = ParseHttpsUri(fcm->account.token_uri);
      if (!uri.ok()) {
        return Annotate(uri.status(),
                        absl::StrCat(where, ": fcm: token_uri: "));
      }
      fcm->token_uri = *std::move(uri);
      fcm->config.project_id =
          p.project_id().empty() ? fcm->account.project_id : p.project_id();
      fcm->config.service_account_file = p.service_account_file();
      fcm->config.hide_caller_name = p.hide_caller_name();
      auto pool = sender->PoolFor(
          "fcm", p.endpoint().empty() ? kFcmEndpoint : p.endpoint(), 443,
          p.ca_file(), "", "", p.connections());
      if (!pool.ok()) {
        return Annotate(pool.status(), absl::StrCat(where, ": fcm: "));
      }
      fcm->pool = *pool;
      auto oauth_pool = sender->PoolFor(
          "fcm", absl::StrCat(fcm->token_uri.host, ":", fcm->token_uri.port),
          443, p.ca_file(), "", "", 1);
      if (!oauth_pool.ok()) {
        return Annotate(oauth_pool.status(),
                        absl::StrCat(where, ": fcm: token_uri: "));
      }
      fcm->oauth_pool = *oauth_pool;
      app->fcm = std::move(fcm);
    }
    sender->apps_[proto.name()] = std::move(app);
  }
  return sender;
}

std::map<std::string, absl::Time> ProviderPushSender::CertificateExpiries()
    const {
  return certificate_expiries_;
}

std::vector<ProviderPoolStats> ProviderPushSender::PoolStats() const {
  std::vector<ProviderPoolStats> out;
  out.reserve(pools_.size());
  for (const auto& [key, entry] : pools_) {
    out.push_back({entry.provider, entry.endpoint, entry.pool->Stats()});
  }
  return out;
}

void ProviderPushSender::OnApnsTokenRefresh(const std::string& team_id,
                                            const std::string& key_id, bool ok,
                                            absl::Time at) const {
  auto it = apns_key_apps_.find({team_id, key_id});
  if (it == apns_key_apps_.end() || observer_ == nullptr) return;
  for (const std::string& app : it->second) {
    observer_->OnTokenRefresh("apns", app, ok, at);
  }
}

void ProviderPushSender::Shutdown(absl::Duration grace) {
  for (auto& [key, entry] : pools_) entry.pool->Shutdown(grace);
}

std::string ProviderPushSender::ProviderFor(Platform platform,
                                            const std::string& app) const {
  auto it = apps_.find(app);
  if (it == apps_.end()) return "none";
  if (platform == Platform::kIos && it->second->apns != nullptr) return "apns";
  if (platform == Platform::kAndroid && it->second->fcm != nullptr) {
    return "fcm";
  }
  return "none";
}

std::vector<TokenKind> ProviderPushSender::TokenKindsFor(Platform platform,
                                                         const std::string& app,
                                                         PushKind kind) const {
  if (kind == PushKind::kCall) return {TokenKind::kVoip};
  if (platform == Platform::kIos) {
    auto it = apps_.find(app);
    if (it == apps_.end() || it->second->apns == nullptr) {
      return PushSender::TokenKindsFor(platform, app, kind);
    }
    const ApnsAppConfig& config = it->second->apns->config;
    const bool as_voip = kind == PushKind::kUpdate ? config.update_as_voip
                                                   : config.cancel_as_voip;
    return {as_voip ? TokenKind::kVoip : TokenKind::kPush};
  }
  return {TokenKind::kPush, TokenKind::kVoip};
}

void ProviderPushSender::Finish(Pending& pending, PushResult result) const {
  result.latency = clock_.Now() - pending.started;
  auto done = std::move(pending.done);
  done(std::move(result));
}

std::optional<absl::Time> ProviderPushSender::RetryAt(
    const PushResult& result, const Pending& pending) const {
  if (pending.tries >= kMaxTries ||
      result.outcome != PushResult::Outcome::kFailed || !result.retryable) {
    return std::nullopt;
  }
  absl::Time at = clock_.Now();
  if (result.retry_after.has_value()) at += *result.retry_after;
  const absl::Time deadline = pending.request.deadline;
  if (deadline != absl::InfinitePast() && at + kMinRetryTime >= deadline) {
    return std::nullopt;  // the caller gets the failure, with retry_after
  }
  return at;
}

void ProviderPushSender::Send(PushRequest request,
                              absl::AnyInvocable<void(PushResult)> done) {
  auto pending = std::make_shared<Pending>();
  pending->started = clock_.Now();
  pending->done = std::move(done);
  const bool ios = request.platform == Platform::kIos;
  auto it = apps_.find(request.app);
  App* app = it == apps_.end() ? nullptr : it->second.get();
  pending->request = std::move(request);
  if (ios && app != nullptr && app->apns != nullptr) {
    SendApns(*app->apns, std::move(pending));
  } else if (!ios && app != nullptr && app->fcm != nullptr) {
    SendFcm(*app->fcm, std::move(pending));
  } else {
    Finish(
        *pending,
        Failed("none", absl::StrCat("app ", pending->request.app, " has no ",
                                    ios ? "apns" : "fcm", " configuration")));
  }
}

void ProviderPushSender::SendApns(ApnsApp& app,
                                  std::shared_ptr<Pending> pending) {
  const PushRequest& request = pending->request;
  http2::Pool* pool = ApnsEnvironmentFor(request, app.config) == "sandbox"
                          ? app.sandbox
                          : app.production;
  std::string bearer;
  if (app.tokens != nullptr) {
    auto token = app.tokens->Token();
    if (!token.ok()) {
      Finish(
          *pending,
          Failed("apns", absl::StrCat("cannot sign the APNs provider token: ",
                                      token.status().message())));
      return;
    }
    bearer = *std::move(token);
  }
  auto http = BuildApnsRequest(request, app.config, bearer, clock_.Now());
  if (!http.ok()) {
    Finish(*pending, Failed("apns", absl::StrCat("cannot build the push: ",
                                                 http.status().message())));
    return;
  }
  http->not_before = pending->not_before;
  ++pending->tries;
  pool->Send(*std::move(http),
             [this, &app, pending, bearer = std::move(bearer)](
                 absl::StatusOr<http2::Response> response) mutable {
               PushResult result = ClassifyApnsResponse(response);
               if (IsApnsProviderTokenError(result) && app.tokens != nullptr &&
                   app.tokens->OnTokenRejected(bearer)) {
                 Log(LogLevel::kWarning, "APNs rejected the provider token",
                     {{"team_id", app.tokens->team_id()},
                      {"key_id", app.tokens->key_id()},
                      {"reason", result.reason}});
               }
               if (auto at = RetryAt(result, *pending)) {
                 pending->not_before = *at;
                 SendApns(app, std::move(pending));
                 return;
               }
               Finish(*pending, std::move(result));
             });
}

void ProviderPushSender::SendFcm(FcmApp& app,
                                 std::shared_ptr<Pending> pending) {
  const absl::Time deadline = pending->request.deadline;
  WithFcmToken(
      app, deadline,
      [this, &app, pending = std::move(pending)](
          absl::StatusOr<std::string> token) mutable {
        if (!token.ok()) {
          PushResult failed =
              Failed("fcm", absl::StrCat("cannot obtain an FCM access token: ",
                                         token.status().message()));
          failed.deadline_exceeded = absl::IsDeadlineExceeded(token.status());
          Finish(*pending, std::move(failed));
          return;
        }
        SendFcmWithToken(app, std::move(pending), *token);
      });
}

void ProviderPushSender::SendFcmWithToken(FcmApp& app,
                                          std::shared_ptr<Pending> pending,
                                          const std::string& token) {
  auto http =
      BuildFcmRequest(pending->request, app.config, token, clock_.Now());
  if (!http.ok()) {
    Finish(*pending, Failed("fcm", absl::StrCat("cannot build the push: ",
                                                http.status().message())));
    return;
  }
  http->not_before = pending->not_before;
  ++pending->tries;
  app.pool->Send(*std::move(http),
                 [this, &app, pending,
                  token](absl::StatusOr<http2::Response> response) mutable {
                   PushResult result = ClassifyFcmResponse(response);
                   if (IsFcmAuthError(result)) {
                     // Dropped even when no resend is left, so that the
                     // next push fetches a new token.
                     app.cache.Invalidate(token);
                     Log(LogLevel::kWarning, "FCM rejected the access token",
                         {{"project", app.config.project_id}});
                     if (!pending->auth_retried && pending->tries < kMaxTries) {
                       pending->auth_retried = true;
                       SendFcm(app, std::move(pending));
                       return;
                     }
                   }
                   if (auto at = RetryAt(result, *pending)) {
                     pending->not_before = *at;
                     SendFcm(app, std::move(pending));
                     return;
                   }
                   Finish(*pending, std::move(result));
                 });
}

void ProviderPushSender::WithFcmToken(
    FcmApp& app, absl::Time deadline,
    absl::AnyInvocable<void(absl::StatusOr<std::string>)> use) {
  bool refresh = false;
  std::optional<std::string> token;
  std::string error;
  {
    // Get() and queueing under app.mu: a refresh that ends in between
    // (Set(), then app.mu) cannot miss this waiter.
    absl::MutexLock lock(&app.mu);
    FcmTokenCache::Lease lease = app.cache.Get();
    token = std::move(lease.token);
    if (lease.refresh) {
      refresh = true;
      app.refreshing = true;
    }
    if (!token.has_value()) {
      if (app.refreshing) {
        // Whichever comes first, the token or the push's deadline, answers
        // the push; the refresh goes on for the pushes after it.
        auto once = std::make_shared<OnceCallback>(std::move(use));
        app.waiters.push_back(
            [once](absl::StatusOr<std::string> t) { once->Run(std::move(t)); });
        if (deadline != absl::InfinitePast()) {
          app.oauth_pool->RunAt(deadline, [once] {
            once->Run(absl::DeadlineExceededError(
                "no FCM access token before the push's deadline"));
          });
        }
      } else {
        error = app.last_error.empty() ? "no token" : app.last_error;
      }
    }
  }
  if (refresh) RefreshFcmToken(app);
  if (token.has_value()) {
    use(*std::move(token));
  } else if (!error.empty()) {
    use(absl::UnavailableError(error));
  }
}

void ProviderPushSender::RefreshFcmToken(FcmApp& app) {
  auto finish = [this, &app](absl::StatusOr<AccessToken> token) {
    if (observer_ != nullptr) {
      observer_->OnTokenRefresh("fcm", app.name, token.ok(), clock_.Now());
    }
    std::vector<absl::AnyInvocable<void(absl::StatusOr<std::string>)>> waiters;
    absl::StatusOr<std::string> result;
    if (token.ok()) {
      result = token->token;
      app.cache.Set(*std::move(token));
    } else {
      result = token.status();
      app.cache.RefreshFailed();
      Log(LogLevel::kWarning, "cannot obtain an FCM access token",
          {{"project", app.config.project_id},
           {"error", token.status().ToString()}});
    }
    {
      absl::MutexLock lock(&app.mu);
      app.refreshing = false;
      app.last_error =
          result.ok() ? "" : std::string(result.status().message());
      waiters.swap(app.waiters);
    }
    for (auto& waiter : waiters) waiter(result);
  };
  const absl::Time now = clock_.Now();
  auto request = BuildTokenRequest(app.account, now);
  if (!request.ok()) {
    finish(request.status());
    return;
  }
  request->deadline = now + kTokenFetchTimeout;
  app.oauth_pool->Send(*std::move(request),
                       [now, finish = std::move(finish)](
                           absl::StatusOr<http2::Response> response) mutable {
                         finish(ParseTokenResponse(response, now));
                       });
}

}  // namespace callpush
