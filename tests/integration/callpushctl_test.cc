// The real callpushctl binary against the real callpush-server process on its
// own Postgres database: every command's output and exit status, errors from
// the server (NOT_FOUND, INVALID_ARGUMENT naming the field, UNAVAILABLE from
// a server whose database is down), usage errors, an unreachable and a silent
// server within the timeout, and the call log of real pushes through the
// sandbox.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "callpush/v1/call_service.grpc.pb.h"
#include "tests/testing/loopback_socket.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/sandbox_process.h"
#include "tests/testing/server_process.h"
#include "tests/testing/subprocess.h"

namespace callpush {
namespace {

using ::callpush::testing::LoopbackSocket;
using ::callpush::testing::RunProgram;
using ::callpush::testing::SandboxProcess;
using ::callpush::testing::ScratchDatabase;
using ::callpush::testing::ServerProcess;
using ::callpush::testing::SharedPgUrl;
using ::callpush::testing::Subprocess;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::StartsWith;

const std::string kServer =
    absl::StrCat(CALLPUSH_BINARY_DIR, "/server/callpush-server");
const std::string kCtl =
    absl::StrCat(CALLPUSH_BINARY_DIR, "/clients/callpushctl/callpushctl");
constexpr char kUuidLine[] =
    "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\n";
constexpr char kMobile[] = "+447911123456";

struct CtlRun {
  int exit_code = -1;
  std::string out;
  std::string err;
  absl::Duration elapsed;
};

// Runs `argv` (argv[0] a program path) with its stdout and stderr apart:
// stderr goes to a file through a shell redirect.
CtlRun RunSplit(const std::vector<std::string>& argv) {
  static int serial = 0;
  std::string err_path = absl::StrCat(::testing::TempDir(), "callpushctl-",
                                      getpid(), "-", serial++, ".stderr");
  std::vector<std::string> wrapped = {
      "/bin/sh", "-c", "f=$1; shift; exec \"$@\" 2>\"$f\"", "sh", err_path};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  CtlRun result;
  absl::Time start = absl::Now();
  auto run = RunProgram(wrapped, absl::Seconds(30));
  result.elapsed = absl::Now() - start;
  EXPECT_TRUE(run.ok()) << run.status();
  if (run.ok()) {
    result.exit_code = run->exit_code;
    result.out = run->output;
  }
  std::ifstream in(err_path);
  std::stringstream err;
  err << in.rdbuf();
  result.err = err.str();
  std::remove(err_path.c_str());
  return result;
}

// callpushctl --server `server` `args`...
CtlRun Ctl(const std::string& server, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {kCtl, "--server", server};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunSplit(argv);
}

// A table as rows of whitespace-separated cells.
std::vector<std::vector<std::string>> Rows(const std::string& table) {
  std::vector<std::vector<std::string>> rows;
  for (absl::string_view line :
       absl::StrSplit(table, '\n', absl::SkipEmpty())) {
    rows.push_back(absl::StrSplit(line, ' ', absl::SkipEmpty()));
  }
  return rows;
}

const std::vector<std::string> kDeviceHeader = {
    "ID",      "PLATFORM",   "APP",        "ENVIRONMENT",
    "INBOUND", "VOIP-TOKEN", "PUSH-TOKEN", "PATIENT"};
const std::vector<std::string> kPushHeader = {
    "TIME",   "DEVICE",  "KIND",  "OUTCOME",     "PROVIDER",
    "STATUS", "LATENCY", "TOKEN", "PROVIDER-ID", "REASON"};

class CallpushctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto url = SharedPgUrl();
    ASSERT_TRUE(url.ok()) << url.status();
    auto db = ScratchDatabase::Create(*url);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
  }

  // Starts callpush-server on a free port and waits until it is SERVING.
  void StartServer(const std::vector<std::string>& extra_flags = {}) {
    auto server = ServerProcess::Start(db_->url(), extra_flags);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    address_ = server_->address();
    channel_ = server_->channel();
    absl::Status serving = server_->AwaitServing();
    ASSERT_TRUE(serving.ok()) << serving;
  }

  CtlRun Ctl(const std::vector<std::string>& args) {
    return ::callpush::Ctl(address_, args);
  }

  // Registers a device with callpushctl; its printed id.
  std::string Register(const std::vector<std::string>& options) {
    std::vector<std::string> args = {"device", "register"};
    args.insert(args.end(), options.begin(), options.end());
    CtlRun run = Ctl(args);
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_THAT(run.out, MatchesRegex(kUuidLine));
    EXPECT_EQ(run.err, "");
    return run.out.substr(0, run.out.size() - 1);
  }

  grpc::Status Call(const std::string& device_id, const std::string& call_id) {
    auto calls = v1::CallService::NewStub(channel_);
    v1::CallRequest request;
    request.set_device_id(device_id);
    request.set_call_id(call_id);
    request.set_caller_name("Riverside Surgery");
    v1::CallResponse response;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(5));
    return calls->Call(&ctx, request, &response);
  }

  std::unique_ptr<ScratchDatabase> db_;
  std::unique_ptr<ServerProcess> server_;
  std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(CallpushctlTest, DeviceAndPatientLifecycle) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  const std::string ios_voip(64, 'a'), ios_push(64, 'c'),
      android_token = "fcm-token:APA91bToken_1";
  std::string ios =
      Register({"--mobile", kMobile, "--platform", "ios", "--app", "demo",
                "--environment", "sandbox", "--voip-token", ios_voip,
                "--push-token", ios_push});
  // A national number with its region is stored as E.164.
  std::string android =
      Register({"--mobile=07911 123456", "--region=GB", "--platform=android",
                "--app=demo", "--voip-token", android_token, "--refuse-calls"});
  ASSERT_NE(ios, android);

  CtlRun list = Ctl({"device", "list", kMobile});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(list.err, "");
  EXPECT_THAT(Rows(list.out),
              ElementsAre(kDeviceHeader,
                          ElementsAre(ios, "ios", "demo", "sandbox", "on",
                                      "yes", "yes", "active"),
                          ElementsAre(android, "android", "demo", "default",
                                      "off", "yes", "no", "active")));
  for (const std::string& token : {ios_voip, ios_push, android_token}) {
    EXPECT_THAT(list.out, Not(HasSubstr(token)));
  }

  CtlRun off = Ctl({"device", "set-inbound-calls", ios, "off"});
  EXPECT_EQ(off.exit_code, 0) << off.err;
  EXPECT_EQ(off.out, absl::StrCat(ios, " inbound calls off\n"));
  list = Ctl({"device", "list", kMobile});
  ASSERT_THAT(Rows(list.out), SizeIs(3));
  EXPECT_EQ(Rows(list.out)[1][4], "off");
  CtlRun on = Ctl({"device", "set-inbound-calls", ios, "on"});
  EXPECT_EQ(on.out, absl::StrCat(ios, " inbound calls on\n"));

  CtlRun deactivate = Ctl({"patient", "deactivate", kMobile});
  EXPECT_EQ(deactivate.exit_code, 0) << deactivate.err;
  EXPECT_EQ(deactivate.out, "+447911123456 inactive\n");
  list = Ctl({"device", "list", kMobile});
  ASSERT_THAT(Rows(list.out), SizeIs(3));
  EXPECT_EQ(Rows(list.out)[1][7], "inactive");
  EXPECT_EQ(Rows(list.out)[2][7], "inactive");
  CtlRun activate = Ctl({"patient", "activate", kMobile});
  EXPECT_EQ(activate.exit_code, 0) << activate.err;
  EXPECT_EQ(activate.out, "+447911123456 active\n");
  list = Ctl({"device", "list", kMobile});
  ASSERT_THAT(Rows(list.out), SizeIs(3));
  EXPECT_EQ(Rows(list.out)[1][7], "active");

  CtlRun removed = Ctl({"device", "remove", android});
  EXPECT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_EQ(removed.out, absl::StrCat("removed ", android, "\n"));
  list = Ctl({"device", "list", kMobile});
  EXPECT_THAT(
      Rows(list.out),
      ElementsAre(kDeviceHeader, ElementsAre(ios, "ios", "demo", "sandbox",
                                             "on", "yes", "yes", "active")));

  CtlRun again = Ctl({"device", "remove", android});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_EQ(again.out, "");
  EXPECT_EQ(again.err, "callpushctl: NOT_FOUND: device not found\n");

  ASSERT_EQ(Ctl({"device", "remove", ios}).exit_code, 0);
  CtlRun empty = Ctl({"device", "list", kMobile});
  EXPECT_EQ(empty.exit_code, 0);
  EXPECT_EQ(empty.out, "");
  EXPECT_EQ(empty.err, "no devices\n");
}

TEST_F(CallpushctlTest, ServerRejectionsNameTheField) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  CtlRun bad_register = Ctl({"device", "register", "--mobile", "12",
                             "--platform", "ios", "--app", "demo"});
  EXPECT_EQ(bad_register.exit_code, 1);
  EXPECT_EQ(bad_register.out, "");
  EXPECT_THAT(bad_register.err,
              StartsWith("callpushctl: INVALID_ARGUMENT: mobileNumber: "));

  // Lookups take canonical E.164 only.
  CtlRun bad_list = Ctl({"device", "list", "447911123456"});
  EXPECT_EQ(bad_list.exit_code, 1);
  EXPECT_THAT(bad_list.err,
              StartsWith("callpushctl: INVALID_ARGUMENT: mobileNumber: "));
  CtlRun bad_patient = Ctl({"patient", "deactivate", "+44 7911 123456"});
  EXPECT_EQ(bad_patient.exit_code, 1);
  EXPECT_THAT(bad_patient.err,
              StartsWith("callpushctl: INVALID_ARGUMENT: mobileNumber: "));

  CtlRun bad_id = Ctl({"device", "remove", "not-a-uuid"});
  EXPECT_EQ(bad_id.exit_code, 1);
  EXPECT_THAT(bad_id.err,
              StartsWith("callpushctl: INVALID_ARGUMENT: deviceId: "));

  CtlRun bad_token =
      Ctl({"device", "register", "--mobile", kMobile, "--platform", "ios",
           "--app", "demo", "--voip-token", "not hex"});
  EXPECT_EQ(bad_token.exit_code, 1);
  EXPECT_THAT(bad_token.err,
              StartsWith("callpushctl: INVALID_ARGUMENT: voipToken: "));

  CtlRun unknown_patient = Ctl({"patient", "activate", "+447911999999"});
  EXPECT_EQ(unknown_patient.exit_code, 1);
  EXPECT_EQ(unknown_patient.err, "callpushctl: NOT_FOUND: patient not found\n");
}

TEST_F(CallpushctlTest, ServerComesFromTheEnvironment) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  CtlRun run = RunSplit({"/usr/bin/env", "CALLPUSH_SERVER=" + address_, kCtl,
                         "device", "list", kMobile});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.err, "no devices\n");
  // --server wins over the environment.
  CtlRun flag = RunSplit({"/usr/bin/env", "CALLPUSH_SERVER=127.0.0.1:1", kCtl,
                          "--server", address_, "device", "list", kMobile});
  EXPECT_EQ(flag.exit_code, 0) << flag.err;
}

TEST_F(CallpushctlTest, CallLogWithoutAttempts) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  CtlRun run = Ctl({"call-log", "no-such-call@example.org"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.err, "no push attempts\n");
}

// Without push providers a Call is still recorded, as a failure.
TEST_F(CallpushctlTest, CallLogOfAnUnconfiguredPush) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  std::string id = Register({"--mobile", kMobile, "--platform", "ios", "--app",
                             "demo", "--voip-token", std::string(64, 'a')});
  ASSERT_EQ(Call(id, "ctl-call-1").error_code(), grpc::StatusCode::UNAVAILABLE);
  CtlRun run = Ctl({"call-log", "ctl-call-1"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.err, "");
  auto rows = Rows(run.out);
  ASSERT_THAT(rows, SizeIs(2)) << run.out;
  EXPECT_EQ(rows[0], kPushHeader);
  ASSERT_THAT(rows[1], SizeIs(::testing::Ge(10u))) << run.out;
  EXPECT_THAT(rows[1][0],
              MatchesRegex("20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"
                           "[0-9]{2}\\.[0-9]{3}Z"));
  EXPECT_EQ(rows[1][1], id);
  EXPECT_EQ(rows[1][2], "call");
  EXPECT_EQ(rows[1][3], "failed");
  EXPECT_EQ(rows[1][4], "none");
  EXPECT_EQ(rows[1][5], "-");
  EXPECT_THAT(rows[1][6], MatchesRegex("[0-9]+ms"));
  EXPECT_EQ(rows[1][7], "-");
  EXPECT_EQ(rows[1][8], "-");
  EXPECT_EQ(absl::StrJoin(rows[1].begin() + 9, rows[1].end(), " "),
            "no push provider configured");
}

// Real pushes through the sandbox (APNs over HTTP/2 + TLS): one accepted,
// one rejected as a dead token.
TEST_F(CallpushctlTest, CallLogOfPushesThroughTheSandbox) {
  auto sandbox = SandboxProcess::Start();
  ASSERT_TRUE(sandbox.ok()) << sandbox.status();
  std::string config_path = (*sandbox)->dir() + "/push-config.json";
  std::ofstream(config_path)
      << (*sandbox)->PushConfig("demo", "com.example.patient").dump();
  ASSERT_NO_FATAL_FAILURE(StartServer({"--push_config=" + config_path}));

  const std::string live(64, 'a'), dead(64, 'd');
  std::string phone = Register({"--mobile", kMobile, "--platform", "ios",
                                "--app", "demo", "--voip-token", live});
  std::string old_phone = Register({"--mobile", kMobile, "--platform", "ios",
                                    "--app", "demo", "--voip-token", dead});
  ASSERT_TRUE((*sandbox)
                  ->PutRules(absl::StrCat(
                      R"([{"token":")", dead,
                      R"(","status":410,"reason":"Unregistered"}])"))
                  .ok());
  grpc::Status accepted = Call(phone, "ctl-call-2");
  ASSERT_TRUE(accepted.ok()) << accepted.error_message();
  ASSERT_EQ(Call(old_phone, "ctl-call-2").error_code(),
            grpc::StatusCode::NOT_FOUND);

  CtlRun run = Ctl({"call-log", "ctl-call-2"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.err, "");
  auto rows = Rows(run.out);
  ASSERT_THAT(rows, SizeIs(3)) << run.out;
  EXPECT_EQ(rows[0], kPushHeader);
  ASSERT_THAT(rows[1], SizeIs(10)) << run.out;
  EXPECT_EQ(rows[1][1], phone);
  EXPECT_EQ(rows[1][2], "call");
  EXPECT_EQ(rows[1][3], "accepted");
  EXPECT_EQ(rows[1][4], "apns");
  EXPECT_EQ(rows[1][5], "200");
  EXPECT_THAT(rows[1][6], MatchesRegex("[0-9]+ms"));
  EXPECT_EQ(rows[1][7], "-");
  EXPECT_NE(rows[1][8], "-");  // the apns-id
  EXPECT_EQ(rows[1][9], "-");
  ASSERT_THAT(rows[2], SizeIs(10)) << run.out;
  EXPECT_EQ(rows[2][1], old_phone);
  EXPECT_EQ(rows[2][2], "call");
  EXPECT_EQ(rows[2][3], "rejected");
  EXPECT_EQ(rows[2][4], "apns");
  EXPECT_EQ(rows[2][5], "410");
  EXPECT_EQ(rows[2][7], "invalidated");
  EXPECT_EQ(rows[2][9], "Unregistered");
  EXPECT_THAT(run.out, Not(HasSubstr(live)));
  EXPECT_THAT(run.out, Not(HasSubstr(dead)));

  // The dead token was cleared: the device has no VoIP token any more.
  CtlRun list = Ctl({"device", "list", kMobile});
  EXPECT_THAT(Rows(list.out),
              ElementsAre(kDeviceHeader,
                          ElementsAre(phone, "ios", "demo", "default", "on",
                                      "yes", "no", "active"),
                          ElementsAre(old_phone, "ios", "demo", "default", "on",
                                      "no", "no", "active")));
}

// A server that answers UNAVAILABLE itself (its database is down) was
// reached: its message is printed as it is, without "cannot reach".
TEST(CallpushctlNoDatabaseTest, ServerUnavailableIsQuoted) {
  LoopbackSocket no_postgres;  // bound, not listening: refuses connections
  auto server = Subprocess::Start(
      {kServer, "--grpc_address=127.0.0.1:0",
       absl::StrCat("--database_url=postgresql://postgres@127.0.0.1:",
                    no_postgres.port(), "/none?connect_timeout=2"),
       "--db_workers=1", "--shutdown_grace=1s"});
  ASSERT_TRUE(server.ok()) << server.status();
  auto addr = (*server)->WaitForLine("callpush-server listening grpc=",
                                     absl::Seconds(20));
  ASSERT_TRUE(addr.ok()) << addr.status();
  CtlRun run = Ctl(*addr, {"--timeout", "5s", "device", "list", kMobile});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.out, "");
  EXPECT_THAT(run.err, StartsWith("callpushctl: UNAVAILABLE: database "));
  EXPECT_THAT(run.err, Not(HasSubstr("cannot reach")));
}

TEST(CallpushctlNoServerTest, HelpExitsZero) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--help"}, {"help"}, {"-h"}}) {
    CtlRun run = RunSplit({kCtl, args[0]});
    EXPECT_EQ(run.exit_code, 0) << args[0];
    EXPECT_THAT(run.out, StartsWith("usage: callpushctl [--server HOST:PORT] "
                                    "[--timeout DURATION] <command>"));
    EXPECT_THAT(run.out, HasSubstr("device set-inbound-calls"));
    EXPECT_EQ(run.err, "");
  }
  CtlRun one = RunSplit({kCtl, "device", "register", "--help"});
  EXPECT_EQ(one.exit_code, 0);
  EXPECT_THAT(one.out, StartsWith("usage: callpushctl [global options] device "
                                  "register --mobile E164"));
  EXPECT_EQ(RunSplit({kCtl, "help", "call-log"}).exit_code, 0);
}

TEST(CallpushctlNoServerTest, UsageErrorsExitTwo) {
  struct Case {
    std::vector<std::string> args;
    std::string err;
  };
  const std::string kTop =
      "usage: callpushctl [--server HOST:PORT] [--timeout DURATION] <command> "
      "[arguments]  (see 'callpushctl help')\n";
  const Case kCases[] = {
      {{}, "callpushctl: missing command\n" + kTop},
      {{"frobnicate"}, "callpushctl: unknown command 'frobnicate'\n" + kTop},
      {{"device", "remove"},
       "callpushctl: missing argument ID\n"
       "usage: callpushctl [global options] device remove ID\n"},
      {{"device", "set-inbound-calls", "x", "maybe"},
       "callpushctl: on|off: must be on or off, not 'maybe'\n"
       "usage: callpushctl [global options] device set-inbound-calls ID "
       "on|off\n"},
      {{"device", "register", "--platform", "ios", "--app", "demo"},
       "callpushctl: missing option --mobile\n"
       "usage: callpushctl [global options] device register --mobile E164 "
       "--platform ios|android --app APP [--region CC] [--environment "
       "sandbox|production] [--voip-token TOKEN] [--push-token TOKEN] "
       "[--refuse-calls] [--id UUID]\n"},
      {{"device", "list", kMobile, "--verbose"},
       "callpushctl: unknown option --verbose\n"
       "usage: callpushctl [global options] device list E164\n"},
      {{"--timeout", "soon", "call-log", "c"},
       "callpushctl: --timeout: 'soon' is not a positive duration such as "
       "500ms, 5s, 1m\n"
       "usage: callpushctl [global options] call-log CALL_ID\n"},
  };
  for (const Case& c : kCases) {
    std::vector<std::string> argv = {kCtl};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    CtlRun run = RunSplit(argv);
    EXPECT_EQ(run.exit_code, 2) << absl::StrJoin(c.args, " ");
    EXPECT_EQ(run.out, "") << absl::StrJoin(c.args, " ");
    EXPECT_EQ(run.err, c.err) << absl::StrJoin(c.args, " ");
  }
}

TEST(CallpushctlNoServerTest, DownServerIsUnavailableAtOnce) {
  LoopbackSocket closed;  // bound, never listening: connections are refused
  const std::string server = absl::StrCat("127.0.0.1:", closed.port());
  CtlRun run = Ctl(server, {"--timeout", "3s", "device", "list", kMobile});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.out, "");
  EXPECT_THAT(run.err,
              StartsWith(absl::StrCat("callpushctl: UNAVAILABLE: cannot reach ",
                                      server, ": ")));
  // Fail-fast: a refused connection does not wait for the deadline.
  EXPECT_LT(run.elapsed, absl::Seconds(3));
}

TEST(CallpushctlNoServerTest, SilentServerIsDeadlineExceededAtTheTimeout) {
  LoopbackSocket silent;  // accepts into its backlog, never answers
  silent.Listen();
  const std::string server = absl::StrCat("127.0.0.1:", silent.port());
  CtlRun run = Ctl(server, {"--timeout", "1s", "call-log", "c"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.out, "");
  EXPECT_THAT(run.err,
              StartsWith(absl::StrCat(
                  "callpushctl: DEADLINE_EXCEEDED: cannot reach ", server)));
  EXPECT_GE(run.elapsed, absl::Seconds(1));
  EXPECT_LT(run.elapsed, absl::Seconds(10));
}

}  // namespace
}  // namespace callpush
