// callpush-sandbox: a local stand-in for APNs and FCM HTTP v1 (plus the
// Google OAuth2 token endpoint) over HTTP/2 + TLS, with a loopback admin
// port to program failures and read what was received. See DESIGN.md §5.
#include <signal.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "clients/base/clock.h"
#include "clients/base/log.h"
#include "clients/base/status_macros.h"
#include "tests/sandbox/access_token_store.h"
#include "tests/sandbox/admin_server.h"
#include "tests/sandbox/apns_endpoint.h"
#include "tests/sandbox/cert_maker.h"
#include "tests/sandbox/deliveries.h"
#include "tests/sandbox/fcm_endpoint.h"
#include "tests/sandbox/net_address.h"
#include "tests/sandbox/oauth_endpoint.h"
#include "tests/sandbox/push_command.h"
#include "tests/sandbox/rules.h"
#include "tests/sandbox/sandbox_handler.h"
#include "tests/sandbox/tls_server.h"

ABSL_FLAG(std::string, h2_address, "127.0.0.1:0",
          "HTTP/2 TLS listener (APNs, FCM, /token); port 0 picks one");
ABSL_FLAG(std::string, admin_address, "127.0.0.1:0",
          "plain HTTP/1.1 admin listener; keep it on loopback");
ABSL_FLAG(std::string, make_certs, "",
          "write a fresh test CA, server/client certificates, an APNs key "
          "and an FCM service account into this directory and use them");
ABSL_FLAG(std::string, tls_cert, "", "server certificate chain (PEM)");
ABSL_FLAG(std::string, tls_key, "", "server private key (PEM)");
ABSL_FLAG(std::string, client_ca, "",
          "CA (PEM) for APNs certificate-auth client certificates");
ABSL_FLAG(std::string, apns_public_key, "",
          "EC P-256 public key (PEM) that verifies APNs provider JWTs");
ABSL_FLAG(std::string, apns_team_id, "SANDBOXTM1", "expected JWT iss");
ABSL_FLAG(std::string, apns_key_id, "SANDBOXKY1", "expected JWT kid");
ABSL_FLAG(std::string, fcm_public_key, "",
          "service-account RSA public key (PEM) for /token assertions");
ABSL_FLAG(std::string, fcm_client_email,
          "sandbox@callpush-sandbox.iam.gserviceaccount.com",
          "expected assertion iss; empty: any");
ABSL_FLAG(std::string, fcm_project, "callpush-sandbox",
          "the FCM project accepted in the path; empty: any");
ABSL_FLAG(std::string, token_uri, "",
          "expected assertion aud; default https://<h2_address>/token with "
          "--make_certs, else not checked");
ABSL_FLAG(std::string, on_push, "",
          "shell command run for each push answered 200, with "
          "CALLPUSH_PUSH_TOKEN, CALLPUSH_PUSH_PAYLOAD, CALLPUSH_PUSH_PROVIDER");
ABSL_FLAG(uint32_t, max_concurrent_streams, 1000,
          "initial SETTINGS_MAX_CONCURRENT_STREAMS");
ABSL_FLAG(uint32_t, max_deliveries, 100000, "deliveries kept in memory");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error");

namespace callpush::sandbox {
namespace {

absl::StatusOr<PKeyPtr> LoadPublicKey(const std::string& path) {
  ASSIGN_OR_RETURN(std::string pem, ReadFileToString(path));
  auto key = PublicKeyFromPem(pem);
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", key.status().message()));
  }
  return key;
}

absl::Status Run() {
  namespace asio = boost::asio;
  asio::io_context io(1);
  const Clock& clock = SystemClock::Get();

  ASSIGN_OR_RETURN(auto h2_endpoint,
                   ParseEndpoint(absl::GetFlag(FLAGS_h2_address)));
  ASSIGN_OR_RETURN(auto admin_endpoint,
                   ParseEndpoint(absl::GetFlag(FLAGS_admin_address)));

  RuleBook rules;
  DeliveryLog deliveries(absl::GetFlag(FLAGS_max_deliveries));
  AccessTokenStore access_tokens;
  std::unique_ptr<PushCommand> on_push;
  if (!absl::GetFlag(FLAGS_on_push).empty()) {
    on_push = std::make_unique<PushCommand>(absl::GetFlag(FLAGS_on_push));
  }

  // The endpoints need keys that --make_certs can only write once the port
  // is known (token_uri), so bind first and build the handler late.
  std::unique_ptr<SandboxHandler> handler;
  class LateHandler final : public RequestHandler {
   public:
    explicit LateHandler(std::unique_ptr<SandboxHandler>& h) : h_(h) {}
    StreamReply Handle(const HttpRequest& request) override {
      return h_->Handle(request);
    }
    void NotProcessed(const HttpRequest& request, StreamAction why) override {
      h_->NotProcessed(request, why);
    }

   private:
    std::unique_ptr<SandboxHandler>& h_;
  } late_handler(handler);

  TlsServer h2(io, late_handler, absl::GetFlag(FLAGS_max_concurrent_streams));
  RETURN_IF_ERROR(h2.Bind(h2_endpoint));
  std::string h2_text = FormatEndpoint(h2.local_endpoint());

  TlsFiles tls{absl::GetFlag(FLAGS_tls_cert), absl::GetFlag(FLAGS_tls_key),
               absl::GetFlag(FLAGS_client_ca)};
  std::string apns_public_key = absl::GetFlag(FLAGS_apns_public_key);
  std::string fcm_public_key = absl::GetFlag(FLAGS_fcm_public_key);
  std::string token_uri = absl::GetFlag(FLAGS_token_uri);
  if (!absl::GetFlag(FLAGS_make_certs).empty()) {
    if (token_uri.empty())
      token_uri = absl::StrCat("https://", h2_text, "/token");
    ASSIGN_OR_RETURN(
        SandboxCredentials made,
        MakeSandboxCredentials(
            absl::GetFlag(FLAGS_make_certs),
            CredentialOptions{token_uri, absl::GetFlag(FLAGS_fcm_project),
                              absl::GetFlag(FLAGS_fcm_client_email)}));
    if (tls.certificate_chain.empty()) tls.certificate_chain = made.server_cert;
    if (tls.private_key.empty()) tls.private_key = made.server_key;
    if (tls.client_ca.empty()) tls.client_ca = made.ca_cert;
    if (apns_public_key.empty()) apns_public_key = made.apns_public_key;
    if (fcm_public_key.empty()) fcm_public_key = made.fcm_public_key;
  }
  if (tls.certificate_chain.empty() || tls.private_key.empty()) {
    return absl::InvalidArgumentError(
        "--tls_cert and --tls_key (or --make_certs) are required");
  }
  RETURN_IF_ERROR(h2.ConfigureTls(tls));

  PKeyPtr apns_key;
  if (!apns_public_key.empty()) {
    ASSIGN_OR_RETURN(apns_key, LoadPublicKey(apns_public_key));
  }
  PKeyPtr fcm_key;
  if (!fcm_public_key.empty()) {
    ASSIGN_OR_RETURN(fcm_key, LoadPublicKey(fcm_public_key));
  }
  ApnsEndpoint apns(absl::GetFlag(FLAGS_apns_team_id),
                    absl::GetFlag(FLAGS_apns_key_id), std::move(apns_key),
                    clock);
  FcmEndpoint fcm(absl::GetFlag(FLAGS_fcm_project), access_tokens, clock);
  OAuthEndpoint oauth(std::move(fcm_key), absl::GetFlag(FLAGS_fcm_client_email),
                      token_uri, access_tokens, clock);
  handler = std::make_unique<SandboxHandler>(
      std::vector<const PushEndpoint*>{&apns, &fcm}, &oauth, rules, deliveries,
      on_push.get());

  AdminServer admin(io, rules, deliveries,
                    [&h2](uint32_t n) { h2.SetMaxConcurrentStreams(n); });
  RETURN_IF_ERROR(admin.Bind(admin_endpoint));

  asio::signal_set stop_signals(io, SIGTERM, SIGINT);
  stop_signals.async_wait([&](const boost::system::error_code& error, int sig) {
    if (error) return;
    Log(LogLevel::kInfo, "stopping", {{"signal", std::to_string(sig)}});
    h2.Stop();
    admin.Stop();
    io.stop();
  });
  asio::signal_set child_signals(io, SIGCHLD);
  std::function<void()> wait_children = [&]() {
    child_signals.async_wait([&](const boost::system::error_code& error, int) {
      if (error) return;
      PushCommand::Reap();
      wait_children();
    });
  };
  wait_children();

  h2.Start();
  admin.Start();
  std::printf("callpush-sandbox listening h2=%s admin=%s\n", h2_text.c_str(),
              FormatEndpoint(admin.local_endpoint()).c_str());
  std::fflush(stdout);
  Log(LogLevel::kInfo, "sandbox ready",
      {{"h2", h2_text},
       {"admin", FormatEndpoint(admin.local_endpoint())},
       {"client_certificates", tls.client_ca.empty() ? "off" : "on"}});
  io.run();
  return absl::OkStatus();
}

}  // namespace
}  // namespace callpush::sandbox

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "HTTP/2 TLS stand-in for APNs and FCM, for tests and demos");
  absl::ParseCommandLine(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  callpush::LogLevel level;
  if (!callpush::ParseLogLevel(absl::GetFlag(FLAGS_log_level), &level)) {
    std::fprintf(stderr, "bad --log_level\n");
    return 2;
  }
  callpush::SetLogLevel(level);
  absl::Status status = callpush::sandbox::Run();
  if (!status.ok()) {
    callpush::Log(callpush::LogLevel::kError, "sandbox failed",
                  {{"error", std::string(status.message())}});
    std::fprintf(stderr, "callpush-sandbox: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
