// Tests for clients/base/grpc_credentials.h: every setting error names its
// field (missing partner, unreadable, not PEM, encrypted or mismatched key),
// the target name override, and real handshakes with an in-process gRPC
// server on 127.0.0.1 (plaintext, TLS, mutual TLS) using certificates made
// at test time.
#include "clients/base/grpc_credentials.h"

#include <gmock/gmock.h>
#include <grpc/grpc_security_constants.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "tests/testing/grpc_probe.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_certs.h"

namespace callpush {
namespace {

using ::callpush::testing::HealthCheck;
using ::callpush::testing::IsOk;
using ::callpush::testing::IsOkAndHolds;
using ::callpush::testing::StatusIs;
using ::callpush::testing::TestPki;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;
constexpr int kServing = 1;  // grpc.health.v1 ServingStatus

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// `key_path`'s key, encrypted with a passphrase.
std::string EncryptedKeyPem(const std::string& key_path) {
  std::string pem = ReadAll(key_path);
  BIO* in = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr);
  BIO_free(in);
  BIO* out = BIO_new(BIO_s_mem());
  static const char kPassphrase[] = "secret";
  PEM_write_bio_PKCS8PrivateKey(out, key, EVP_aes_256_cbc(), kPassphrase,
                                sizeof(kPassphrase) - 1, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(out, &data);
  std::string encrypted(data, static_cast<size_t>(len));
  BIO_free(out);
  EVP_PKEY_free(key);
  return encrypted;
}

class GrpcCredentialsTest : public ::testing::Test {
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
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  std::string Write(const std::string& name, const std::string& contents) {
    auto path = pki_->WriteFile(name, contents);
    EXPECT_THAT(path, IsOk());
    return path.ok() ? *path : "";
  }

  // Starts a server with the default health service on 127.0.0.1:0.
  void StartServer(const GrpcServerTlsFiles& files) {
    auto credentials = GrpcServerCredentials(files);
    ASSERT_THAT(credentials, IsOk());
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", *credentials, &port);
    // A server needs one service besides health; this one answers
    // UNIMPLEMENTED.
    builder.RegisterCallbackGenericService(&unimplemented_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port, 0);
    address_ = absl::StrCat("127.0.0.1:", port);
  }

  // Health of service "" through a client with `files`: the serving status,
  // or the RPC's error.
  absl::StatusOr<int> Check(const GrpcClientTlsFiles& files) {
    grpc::ChannelArguments args;
    auto credentials = GrpcChannelCredentials(files, &args);
    EXPECT_THAT(credentials, IsOk());
    if (!credentials.ok()) return credentials.status();
    return HealthCheck(grpc::CreateCustomChannel(address_, *credentials, args),
                       "");
  }

  GrpcServerTlsFiles ServerTls() const {
    return {pki_->server_cert(), pki_->server_key(), ""};
  }
  GrpcServerTlsFiles ServerMutualTls() const {
    return {pki_->server_cert(), pki_->server_key(), pki_->ca_cert()};
  }

  static TestPki* pki_;    // the CA the servers trust and are signed by
  static TestPki* other_;  // an unrelated CA
  grpc::CallbackGenericService unimplemented_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

TestPki* GrpcCredentialsTest::pki_ = nullptr;
TestPki* GrpcCredentialsTest::other_ = nullptr;

// ---- server settings ----

TEST_F(GrpcCredentialsTest, ServerCertAndKeyComeTogether) {
  EXPECT_THAT(
      GrpcServerCredentials({pki_->server_cert(), "", ""}),
      StatusIs(kInvalid, "grpcTls.keyFile: is required with grpcTls.certFile"));
  EXPECT_THAT(
      GrpcServerCredentials({"", pki_->server_key(), ""}),
      StatusIs(kInvalid, "grpcTls.certFile: is required with grpcTls.keyFile"));
  EXPECT_THAT(GrpcServerCredentials({"", "", pki_->ca_cert()}),
              StatusIs(kInvalid,
                       "grpcTls.clientCaFile: needs grpcTls.certFile and "
                       "grpcTls.keyFile"));
}

TEST_F(GrpcCredentialsTest, ServerErrorsUseTheCallersNames) {
  GrpcServerTlsFieldNames flags = {"--grpc_tls_cert_file",
                                   "--grpc_tls_key_file",
                                   "--grpc_tls_client_ca_file"};
  EXPECT_THAT(GrpcServerCredentials({pki_->server_cert(), "", ""}, flags),
              StatusIs(kInvalid,
                       "--grpc_tls_key_file: is required with "
                       "--grpc_tls_cert_file"));
  EXPECT_THAT(GrpcServerCredentials({"", "", "/nonexistent/ca.pem"},
                                    GrpcServerTlsConfigNames("server.tls")),
              StatusIs(kInvalid,
                       "server.tls.clientCaFile: needs server.tls.certFile "
                       "and server.tls.keyFile"));
}

TEST_F(GrpcCredentialsTest, ServerFilesMustBeReadable) {
  EXPECT_THAT(
      GrpcServerCredentials({"/nonexistent/cert.pem", pki_->server_key(), ""}),
      StatusIs(kInvalid,
               "grpcTls.certFile: cannot read /nonexistent/cert.pem: "
               "No such file or directory"));
  EXPECT_THAT(
      GrpcServerCredentials({pki_->server_cert(), "/nonexistent/key.pem", ""}),
      StatusIs(kInvalid,
               "grpcTls.keyFile: cannot read /nonexistent/key.pem: No such "
               "file or directory"));
  EXPECT_THAT(GrpcServerCredentials({pki_->server_cert(), pki_->server_key(),
                                     "/nonexistent/ca.pem"}),
              StatusIs(kInvalid,
                       "grpcTls.clientCaFile: cannot read /nonexistent/ca.pem: "
                       "No such file or directory"));
  // A directory opens but does not read (root reads any file, so mode bits
  // cannot make one unreadable here).
  EXPECT_THAT(
      GrpcServerCredentials({pki_->dir(), pki_->server_key(), ""}),
      StatusIs(kInvalid, absl::StrCat("grpcTls.certFile: cannot read ",
                                      pki_->dir(), ": Is a directory")));
}

TEST_F(GrpcCredentialsTest, ServerFilesMustBePem) {
  std::string text = Write("not-pem.txt", "hello\n");
  std::string empty = Write("empty.pem", "");
  EXPECT_THAT(GrpcServerCredentials({text, pki_->server_key(), ""}),
              StatusIs(kInvalid, absl::StrCat("grpcTls.certFile: ", text,
                                              " holds no PEM certificate")));
  // A key where the certificate belongs, and the other way round.
  EXPECT_THAT(
      GrpcServerCredentials({pki_->server_key(), pki_->server_key(), ""}),
      StatusIs(kInvalid, absl::StrCat("grpcTls.certFile: ", pki_->server_key(),
                                      " holds no PEM certificate")));
  EXPECT_THAT(
      GrpcServerCredentials({pki_->server_cert(), pki_->server_cert(), ""}),
      StatusIs(kInvalid, absl::StrCat("grpcTls.keyFile: ", pki_->server_cert(),
                                      " holds no PEM private key (or an "
                                      "encrypted one)")));
  EXPECT_THAT(
      GrpcServerCredentials({pki_->server_cert(), empty, ""}),
      StatusIs(kInvalid, absl::StrCat("grpcTls.keyFile: ", empty,
                                      " holds no PEM private key (or an "
                                      "encrypted one)")));
  EXPECT_THAT(
      GrpcServerCredentials({pki_->server_cert(), pki_->server_key(), text}),
      StatusIs(kInvalid, absl::StrCat("grpcTls.clientCaFile: ", text,
                                      " holds no PEM certificate")));
}

TEST_F(GrpcCredentialsTest, ServerKeyMustBeUnencryptedAndMatchTheCert) {
  std::string encrypted =
      Write("encrypted-key.pem", EncryptedKeyPem(pki_->server_key()));
  EXPECT_THAT(
      GrpcServerCredentials({pki_->server_cert(), encrypted, ""}),
      StatusIs(kInvalid, absl::StrCat("grpcTls.keyFile: ", encrypted,
                                      " holds no PEM private key (or an "
                                      "encrypted one)")));
  EXPECT_THAT(
      GrpcServerCredentials({pki_->server_cert(), pki_->client_key(), ""}),
      StatusIs(kInvalid, absl::StrCat("grpcTls.keyFile: ", pki_->client_key(),
                                      " is not the key of the certificate in ",
                                      pki_->server_cert())));
}

TEST_F(GrpcCredentialsTest, ServerErrorsNeverQuoteFileContents) {
  auto status =
      GrpcServerCredentials({pki_->server_cert(), pki_->server_cert(), ""});
  EXPECT_THAT(status.status().message(), Not(HasSubstr("BEGIN")));
  status = GrpcServerCredentials({pki_->server_key(), pki_->server_key(), ""});
  EXPECT_THAT(status.status().message(), Not(HasSubstr("BEGIN")));
}

// ---- client settings ----

TEST_F(GrpcCredentialsTest, ClientCertAndKeyComeTogether) {
  grpc::ChannelArguments args;
  EXPECT_THAT(GrpcChannelCredentials(
                  {pki_->ca_cert(), pki_->client_cert(), "", ""}, &args),
              StatusIs(kInvalid,
                       "grpcClientTls.keyFile: is required with "
                       "grpcClientTls.certFile"));
  EXPECT_THAT(GrpcChannelCredentials(
                  {pki_->ca_cert(), "", pki_->client_key(), ""}, &args),
              StatusIs(kInvalid,
                       "grpcClientTls.certFile: is required with "
                       "grpcClientTls.keyFile"));
  EXPECT_THAT(GrpcChannelCredentials({"", "", "", "localhost"}, &args),
              StatusIs(kInvalid,
                       "grpcClientTls.serverName: applies to TLS only: set "
                       "grpcClientTls.caFile"));
}

TEST_F(GrpcCredentialsTest, ClientErrorsUseTheCallersNames) {
  grpc::ChannelArguments args;
  GrpcClientTlsFieldNames flags = {"--tls-ca-file", "--tls-cert-file",
                                   "--tls-key-file", "--tls-server-name"};
  EXPECT_THAT(
      GrpcChannelCredentials({"", "", pki_->client_key(), ""}, &args, flags),
      StatusIs(kInvalid, "--tls-cert-file: is required with --tls-key-file"));
  EXPECT_THAT(
      GrpcChannelCredentials({"/nonexistent/ca.pem", "", "", ""}, &args, flags),
      StatusIs(kInvalid,
               "--tls-ca-file: cannot read /nonexistent/ca.pem: No such file "
               "or directory"));
  EXPECT_THAT(GrpcChannelCredentials({"", "", "", "x"}, &args,
                                     GrpcClientTlsConfigNames("backend")),
              StatusIs(kInvalid,
                       "backend.serverName: applies to TLS only: set "
                       "backend.caFile"));
}

TEST_F(GrpcCredentialsTest, ClientFilesMustBeReadablePemAndMatch) {
  grpc::ChannelArguments args;
  std::string text = Write("client-not-pem.txt", "hello\n");
  EXPECT_THAT(GrpcChannelCredentials({text, "", "", ""}, &args),
              StatusIs(kInvalid, absl::StrCat("grpcClientTls.caFile: ", text,
                                              " holds no PEM certificate")));
  EXPECT_THAT(
      GrpcChannelCredentials(
          {pki_->ca_cert(), "/nonexistent/client.pem", pki_->client_key(), ""},
          &args),
      StatusIs(kInvalid,
               "grpcClientTls.certFile: cannot read /nonexistent/client.pem: "
               "No such file or directory"));
  EXPECT_THAT(
      GrpcChannelCredentials(
          {pki_->ca_cert(), pki_->client_cert(), pki_->client_cert(), ""},
          &args),
      StatusIs(kInvalid,
               absl::StrCat("grpcClientTls.keyFile: ", pki_->client_cert(),
                            " holds no PEM private key (or an encrypted "
                            "one)")));
  EXPECT_THAT(
      GrpcChannelCredentials(
          {pki_->ca_cert(), pki_->client_cert(), other_->client_key(), ""},
          &args),
      StatusIs(kInvalid,
               absl::StrCat("grpcClientTls.keyFile: ", other_->client_key(),
                            " is not the key of the certificate in ",
                            pki_->client_cert())));
}

// The channel arguments as name -> string value.
std::map<std::string, std::string> StringArgs(
    const grpc::ChannelArguments& args) {
  grpc_channel_args c_args;
  args.SetChannelArgs(&c_args);
  std::map<std::string, std::string> out;
  for (size_t i = 0; i < c_args.num_args; ++i) {
    if (c_args.args[i].type == GRPC_ARG_STRING) {
      out[c_args.args[i].key] = c_args.args[i].value.string;
    }
  }
  return out;
}

TEST_F(GrpcCredentialsTest, ServerNameOverridesTheTargetName) {
  grpc::ChannelArguments args;
  ASSERT_THAT(GrpcChannelCredentials({pki_->ca_cert(), "", "", ""}, &args),
              IsOk());
  EXPECT_EQ(StringArgs(args).count(GRPC_SSL_TARGET_NAME_OVERRIDE_ARG), 0u);
  ASSERT_THAT(GrpcChannelCredentials(
                  {pki_->ca_cert(), "", "", "callpush.internal"}, &args),
              IsOk());
  EXPECT_EQ(StringArgs(args)[GRPC_SSL_TARGET_NAME_OVERRIDE_ARG],
            "callpush.internal");
}

// ---- handshakes ----

TEST_F(GrpcCredentialsTest, PlaintextServesPlaintextClients) {
  StartServer({});
  EXPECT_THAT(Check({}), IsOkAndHolds(kServing));
  EXPECT_THAT(Check({pki_->ca_cert(), "", "", ""}),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(GrpcCredentialsTest, TlsServesClientsThatTrustItsCa) {
  StartServer(ServerTls());
  EXPECT_THAT(Check({pki_->ca_cert(), "", "", ""}), IsOkAndHolds(kServing));
  // A client certificate the server does not ask for changes nothing.
  EXPECT_THAT(
      Check({pki_->ca_cert(), pki_->client_cert(), pki_->client_key(), ""}),
      IsOkAndHolds(kServing));
}

TEST_F(GrpcCredentialsTest, TlsRefusesClientsThatTrustAnotherCa) {
  StartServer(ServerTls());
  EXPECT_THAT(Check({other_->ca_cert(), "", "", ""}),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(GrpcCredentialsTest, TlsRefusesPlaintextClients) {
  StartServer(ServerTls());
  EXPECT_THAT(Check({}), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(GrpcCredentialsTest, ServerNameIsWhatTheCertificateMustName) {
  StartServer(ServerTls());
  // The target is 127.0.0.1; the certificate names it and localhost.
  EXPECT_THAT(Check({pki_->ca_cert(), "", "", "wrong.example"}),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(Check({pki_->ca_cert(), "", "", "localhost"}),
              IsOkAndHolds(kServing));
}

TEST_F(GrpcCredentialsTest, MutualTlsServesClientsWithACertFromItsCa) {
  StartServer(ServerMutualTls());
  EXPECT_THAT(
      Check({pki_->ca_cert(), pki_->client_cert(), pki_->client_key(), ""}),
      IsOkAndHolds(kServing));
}

TEST_F(GrpcCredentialsTest, MutualTlsRefusesClientsWithoutACert) {
  StartServer(ServerMutualTls());
  EXPECT_THAT(Check({pki_->ca_cert(), "", "", ""}),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(GrpcCredentialsTest, MutualTlsRefusesClientCertsFromAnotherCa) {
  StartServer(ServerMutualTls());
  EXPECT_THAT(
      Check({pki_->ca_cert(), other_->client_cert(), other_->client_key(), ""}),
      StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace callpush
