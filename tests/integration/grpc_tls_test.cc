// gRPC over TLS and mutual TLS between the real processes, with certificates
// made at test time: callpush-server serving TLS (--grpc_tls_*), the
// callpushctl binary (--tls-* and $CALLPUSH_TLS_*) and the separate
// callpush-gateway (--grpc_target_*) as its clients. A client that does not
// trust the server, speaks plaintext, or lacks a client certificate the
// server requires fails with UNAVAILABLE; bad TLS options are usage errors.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "clients/base/grpc_credentials.h"
#include "tests/testing/grpc_probe.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_certs.h"

namespace callpush {
namespace {

using ::callpush::testing::HealthCheck;
using ::callpush::testing::IsOk;
using ::callpush::testing::RunProgram;
using ::callpush::testing::RunResult;
using ::callpush::testing::ScratchDatabase;
using ::callpush::testing::ServerProcess;
using ::callpush::testing::SharedPgUrl;
using ::callpush::testing::Subprocess;
using ::callpush::testing::TestPki;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

const std::string kServer =
    absl::StrCat(CALLPUSH_BINARY_DIR, "/server/callpush-server");
const std::string kCtl =
    absl::StrCat(CALLPUSH_BINARY_DIR, "/clients/callpushctl/callpushctl");
const std::string kGateway =
    absl::StrCat(CALLPUSH_BINARY_DIR, "/gateway/callpush-gateway");
constexpr char kMobile[] = "+447911123456";
constexpr int kServing = 1;  // grpc.health.v1 ServingStatus

// Runs a program to completion: exit status, stdout and stderr together.
RunResult RunToEnd(const std::vector<std::string>& argv) {
  auto run = RunProgram(argv, absl::Seconds(30));
  EXPECT_THAT(run, IsOk());
  return run.ok() ? *run : RunResult();
}

class GrpcTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto pki = TestPki::Make();
    ASSERT_THAT(pki, IsOk());
    pki_ = pki->release();
    auto other = TestPki::Make();
    ASSERT_THAT(other, IsOk());
    other_ = other->release();
  }

  static void TearDownTestSuite() {
    delete pki_;
    delete other_;
    pki_ = other_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(pki_, nullptr);
    ASSERT_NE(other_, nullptr);
    auto url = SharedPgUrl();
    ASSERT_THAT(url, IsOk());
    auto db = ScratchDatabase::Create(*url);
    ASSERT_THAT(db, IsOk());
    db_ = *std::move(db);
  }

  static std::vector<std::string> TlsFlags() {
    return {absl::StrCat("--grpc_tls_cert_file=", pki_->server_cert()),
            absl::StrCat("--grpc_tls_key_file=", pki_->server_key())};
  }
  static std::vector<std::string> MutualTlsFlags() {
    std::vector<std::string> flags = TlsFlags();
    flags.push_back(
        absl::StrCat("--grpc_tls_client_ca_file=", pki_->ca_cert()));
    return flags;
  }

  // Starts callpush-server with `flags` and waits until health, asked over
  // a channel with `client`, says SERVING (its database answers).
  void StartServer(const std::vector<std::string>& flags,
                   const GrpcClientTlsFiles& client) {
    auto server = ServerProcess::Start(db_->url(), flags);
    ASSERT_THAT(server, IsOk());
    server_ = *std::move(server);
    address_ = server_->address();
    grpc::ChannelArguments args;
    auto credentials = GrpcChannelCredentials(client, &args);
    ASSERT_THAT(credentials, IsOk());
    auto channel = grpc::CreateCustomChannel(address_, *credentials, args);
    const absl::Time deadline = absl::Now() + absl::Seconds(15);
    absl::StatusOr<int> health = HealthCheck(channel, "");
    while (!(health.ok() && *health == kServing) && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));  // polling a remote state
      health = HealthCheck(channel, "");
    }
    ASSERT_THAT(health, ::callpush::testing::IsOkAndHolds(kServing));
  }

  GrpcClientTlsFiles TrustingClient() const {
    return {pki_->ca_cert(), "", "", ""};
  }
  GrpcClientTlsFiles CertifiedClient() const {
    return {pki_->ca_cert(), pki_->client_cert(), pki_->client_key(), ""};
  }

  // callpushctl --server <the server> `args`...
  RunResult Ctl(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {kCtl, "--server", address_};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunToEnd(argv);
  }

  std::vector<std::string> TrustingCtl(std::vector<std::string> args) const {
    args.insert(args.begin(), {"--tls-ca-file", pki_->ca_cert()});
    return args;
  }

  // callpushctl failed to connect: exit 1 and one line, "callpushctl:
  // UNAVAILABLE: cannot reach <server>: <gRPC's reason>" (gRPC's own log
  // lines are not shown).
  void ExpectUnreachable(const RunResult& run) const {
    ExpectRefused(run);
    EXPECT_THAT(run.output, StartsWith(absl::StrCat(
                                "callpushctl: UNAVAILABLE: cannot reach ",
                                address_, ": ")));
  }

  // A refusal the server sends after the client's side of a TLS 1.3
  // handshake (no or a foreign client certificate) may come once the
  // connection counted as made, without "cannot reach".
  static void ExpectRefused(const RunResult& run) {
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_THAT(run.output, StartsWith("callpushctl: UNAVAILABLE: "));
    EXPECT_EQ(std::count(run.output.begin(), run.output.end(), '\n'), 1)
        << run.output;
  }

  // Starts callpush-gateway in front of the server with `flags`; GET
  // /v1/callable-devices through it: "<status> <body>".
  std::string GatewayGet(const std::vector<std::string>& flags) {
    std::vector<std::string> argv = {
        kGateway, absl::StrCat("--grpc_target=", address_),
        "--http_address=127.0.0.1:0", "--shutdown_grace=1s"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    auto gateway = Subprocess::Start(argv);
    EXPECT_THAT(gateway, IsOk());
    if (!gateway.ok()) return "";
    auto http = (*gateway)->WaitForLine("callpush-gateway listening http=",
                                        absl::Seconds(20));
    EXPECT_THAT(http, IsOk());
    if (!http.ok()) return "";
    RunResult curl = RunToEnd(
        {"/usr/bin/curl", "-s", "--max-time", "10", "-w", " %{http_code}",
         absl::StrCat("http://", *http,
                      "/v1/callable-devices?mobileNumber=%2B447911123456")});
    EXPECT_EQ(curl.exit_code, 0) << curl.output;
    // "<body> <status>" to "<status> <body>".
    size_t space = curl.output.rfind(' ');
    if (space == std::string::npos) return curl.output;
    return absl::StrCat(curl.output.substr(space + 1), " ",
                        curl.output.substr(0, space));
  }

  static TestPki* pki_;    // signed the server's and the client's certificate
  static TestPki* other_;  // an unrelated CA and its client certificate
  std::unique_ptr<ScratchDatabase> db_;
  std::unique_ptr<ServerProcess> server_;
  std::string address_;
};

TestPki* GrpcTlsTest::pki_ = nullptr;
TestPki* GrpcTlsTest::other_ = nullptr;

TEST_F(GrpcTlsTest, CallpushctlTrustingTheCaWorksOverTls) {
  ASSERT_NO_FATAL_FAILURE(StartServer(TlsFlags(), TrustingClient()));
  RunResult reg = Ctl(
      TrustingCtl({"device", "register", "--mobile", kMobile, "--platform",
                   "android", "--app", "demo", "--voip-token", "fcm-token-1"}));
  ASSERT_EQ(reg.exit_code, 0) << reg.output;
  ASSERT_THAT(reg.output, MatchesRegex("[0-9a-f-]{36}\n"));
  std::string id = reg.output.substr(0, 36);
  RunResult list = Ctl(TrustingCtl({"device", "list", kMobile}));
  EXPECT_EQ(list.exit_code, 0) << list.output;
  EXPECT_THAT(list.output, HasSubstr(absl::StrCat("\n", id, "  android")));
  // The name the certificate must hold can differ from the --server host.
  RunResult named = Ctl(TrustingCtl(
      {"--tls-server-name", "localhost", "device", "list", kMobile}));
  EXPECT_EQ(named.exit_code, 0) << named.output;
  RunResult misnamed = Ctl(TrustingCtl(
      {"--tls-server-name", "wrong.example", "device", "list", kMobile}));
  ExpectUnreachable(misnamed);
}

TEST_F(GrpcTlsTest, CallpushctlTlsSettingsComeFromTheEnvironment) {
  ASSERT_NO_FATAL_FAILURE(StartServer(TlsFlags(), TrustingClient()));
  RunResult env = RunToEnd({"/usr/bin/env", "CALLPUSH_SERVER=" + address_,
                            "CALLPUSH_TLS_CA_FILE=" + pki_->ca_cert(), kCtl,
                            "call-log", "c1"});
  EXPECT_EQ(env.exit_code, 0) << env.output;
  EXPECT_EQ(env.output, "no push attempts\n");
  // The option wins over the variable; an empty one turns TLS off.
  RunResult flag = RunToEnd(
      {"/usr/bin/env", "CALLPUSH_TLS_CA_FILE=/nonexistent", kCtl, "--server",
       address_, "--tls-ca-file", pki_->ca_cert(), "call-log", "c1"});
  EXPECT_EQ(flag.exit_code, 0) << flag.output;
  RunResult off =
      RunToEnd({"/usr/bin/env", "CALLPUSH_TLS_CA_FILE=" + pki_->ca_cert(), kCtl,
                "--server", address_, "--tls-ca-file=", "call-log", "c1"});
  ExpectUnreachable(off);
}

TEST_F(GrpcTlsTest, TlsServerRefusesPlaintextAndUntrustingClients) {
  ASSERT_NO_FATAL_FAILURE(StartServer(TlsFlags(), TrustingClient()));
  RunResult plaintext = Ctl({"device", "list", kMobile});
  ExpectUnreachable(plaintext);
  RunResult other_ca =
      Ctl({"--tls-ca-file", other_->ca_cert(), "device", "list", kMobile});
  ExpectUnreachable(other_ca);
}

TEST_F(GrpcTlsTest, MutualTlsServerWantsACertFromItsCa) {
  ASSERT_NO_FATAL_FAILURE(StartServer(MutualTlsFlags(), CertifiedClient()));
  RunResult certified =
      Ctl(TrustingCtl({"--tls-cert-file", pki_->client_cert(), "--tls-key-file",
                       pki_->client_key(), "device", "list", kMobile}));
  EXPECT_EQ(certified.exit_code, 0) << certified.output;
  EXPECT_EQ(certified.output, "no devices\n");

  RunResult anonymous = Ctl(TrustingCtl({"device", "list", kMobile}));
  ExpectRefused(anonymous);

  RunResult other_ca = Ctl(
      TrustingCtl({"--tls-cert-file", other_->client_cert(), "--tls-key-file",
                   other_->client_key(), "device", "list", kMobile}));
  ExpectRefused(other_ca);

  RunResult plaintext = Ctl({"device", "list", kMobile});
  ExpectUnreachable(plaintext);
}

TEST_F(GrpcTlsTest, GatewayCallsATlsServer) {
  ASSERT_NO_FATAL_FAILURE(StartServer(TlsFlags(), TrustingClient()));
  EXPECT_EQ(
      GatewayGet({absl::StrCat("--grpc_target_ca_file=", pki_->ca_cert())}),
      "200 []");
  EXPECT_EQ(GatewayGet({absl::StrCat("--grpc_target_ca_file=", pki_->ca_cert()),
                        "--grpc_target_server_name=localhost"}),
            "200 []");
}

TEST_F(GrpcTlsTest, GatewayCallsAMutualTlsServerWithItsCert) {
  ASSERT_NO_FATAL_FAILURE(StartServer(MutualTlsFlags(), CertifiedClient()));
  EXPECT_EQ(
      GatewayGet({absl::StrCat("--grpc_target_ca_file=", pki_->ca_cert()),
                  absl::StrCat("--grpc_target_cert_file=", pki_->client_cert()),
                  absl::StrCat("--grpc_target_key_file=", pki_->client_key())}),
      "200 []");
  // Without its certificate the gateway cannot reach the server.
  std::string refused =
      GatewayGet({absl::StrCat("--grpc_target_ca_file=", pki_->ca_cert())});
  EXPECT_THAT(refused, StartsWith("503 "));
}

// ---- bad TLS options: no server needed ----

// callpushctl `args`: exit 2 and the message before the usage line.
void ExpectUsageError(const std::vector<std::string>& argv,
                      const std::string& message) {
  RunResult run = RunToEnd(argv);
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_THAT(run.output, StartsWith(absl::StrCat("callpushctl: ", message,
                                                  "\nusage: callpushctl ")));
}

TEST(GrpcTlsOptionsTest, CallpushctlRejectsBadTlsOptions) {
  auto pki = TestPki::Make();
  ASSERT_THAT(pki, IsOk());
  const TestPki& p = **pki;
  ExpectUsageError(
      {kCtl, "--tls-ca-file", "/nonexistent/ca.pem", "device", "list", kMobile},
      "--tls-ca-file: cannot read /nonexistent/ca.pem: No such "
      "file or directory");
  ExpectUsageError(
      {kCtl, "--tls-cert-file", p.client_cert(), "device", "list", kMobile},
      "--tls-key-file: is required with --tls-cert-file");
  ExpectUsageError(
      {kCtl, "--tls-ca-file", p.ca_cert(), "--tls-cert-file", p.client_cert(),
       "--tls-key-file", p.server_key(), "device", "list", kMobile},
      absl::StrCat("--tls-key-file: ", p.server_key(),
                   " is not the key of the certificate in ", p.client_cert()));
  ExpectUsageError(
      {kCtl, "--tls-ca-file", p.client_key(), "device", "list", kMobile},
      absl::StrCat("--tls-ca-file: ", p.client_key(),
                   " holds no PEM certificate"));
  ExpectUsageError(
      {kCtl, "--tls-server-name", "localhost", "device", "list", kMobile},
      "--tls-server-name: applies to TLS only: set --tls-ca-file");
  // A value from the environment is named by its variable.
  ExpectUsageError({"/usr/bin/env", "CALLPUSH_TLS_CA_FILE=/nonexistent/ca.pem",
                    kCtl, "device", "list", kMobile},
                   "$CALLPUSH_TLS_CA_FILE: cannot read /nonexistent/ca.pem: "
                   "No such file or directory");
  ExpectUsageError({"/usr/bin/env", "CALLPUSH_TLS_KEY_FILE=" + p.client_key(),
                    kCtl, "device", "list", kMobile},
                   "--tls-cert-file: is required with $CALLPUSH_TLS_KEY_FILE");
}

// A key that is not its certificate's, or a CA file without a certificate,
// stops callpush-server and callpush-gateway at start (exit 2), naming the
// setting.
TEST(GrpcTlsOptionsTest, ServerAndGatewayRefuseBadTlsFiles) {
  auto pki = TestPki::Make();
  ASSERT_THAT(pki, IsOk());
  const TestPki& p = **pki;
  RunResult server =
      RunToEnd({kServer, "--grpc_address=127.0.0.1:0",
                "--database_url=postgresql://postgres@127.0.0.1:1/none",
                absl::StrCat("--grpc_tls_cert_file=", p.server_cert()),
                absl::StrCat("--grpc_tls_key_file=", p.client_key())});
  EXPECT_EQ(server.exit_code, 2) << server.output;
  EXPECT_THAT(server.output,
              HasSubstr(absl::StrCat("grpcTls.keyFile: ", p.client_key(),
                                     " is not the key of the certificate in ",
                                     p.server_cert(), "\n")));
  RunResult gateway = RunToEnd(
      {kGateway, "--grpc_target=127.0.0.1:1", "--http_address=127.0.0.1:0",
       absl::StrCat("--grpc_target_ca_file=", p.client_key())});
  EXPECT_EQ(gateway.exit_code, 2) << gateway.output;
  EXPECT_THAT(gateway.output,
              HasSubstr(absl::StrCat("grpcClientTls.caFile: ", p.client_key(),
                                     " holds no PEM certificate\n")));
}

}  // namespace
}  // namespace callpush
