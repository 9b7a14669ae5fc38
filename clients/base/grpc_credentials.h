// gRPC transport credentials from PEM files: plaintext, TLS or mutual TLS,
// for the server (GrpcServerCredentials) and for clients
// (GrpcChannelCredentials). The files are checked before gRPC sees them, so a
// wrong path or a key that does not match its certificate fails at start-up
// with INVALID_ARGUMENT naming the setting, rather than at the first
// handshake. Error messages name paths, never file contents.
//
// Blocking (reads the files); call at start-up. Thread-compatible.
#ifndef CALLPUSH_CLIENTS_BASE_GRPC_CREDENTIALS_H_
#define CALLPUSH_CLIENTS_BASE_GRPC_CREDENTIALS_H_

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace callpush {

// What a gRPC server presents: all empty serves plaintext; cert_file and
// key_file serve TLS; client_ca_file too requires and verifies client
// certificates signed by one of its CAs (mutual TLS).
struct GrpcServerTlsFiles {
  std::string cert_file;       // PEM chain: the server's certificate first
  std::string key_file;        // PEM private key of that certificate
  std::string client_ca_file;  // PEM CA bundle for client certificates
};

// How each GrpcServerTlsFiles field is named in error messages, e.g. the
// config file's "grpcTls.certFile" or a flag's "--grpc_tls_cert_file".
struct GrpcServerTlsFieldNames {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;
};

// The names of the config file's ServerTlsConfig at `prefix`:
// "<prefix>.certFile", "<prefix>.keyFile", "<prefix>.clientCaFile".
GrpcServerTlsFieldNames GrpcServerTlsConfigNames(
    absl::string_view prefix = "grpcTls");

// How a client reaches a gRPC server: ca_file and cert_file both empty is
// plaintext. Otherwise TLS, verifying the server against ca_file (gRPC's
// default roots when empty) and presenting cert_file/key_file when set
// (for servers that require mutual TLS).
struct GrpcClientTlsFiles {
  std::string ca_file;    // PEM CA bundle to verify the server with
  std::string cert_file;  // PEM client certificate chain
  std::string key_file;   // PEM private key of cert_file
  // The name to verify in the server's certificate when it is not the
  // target's host (TLS only).
  std::string server_name;
};

struct GrpcClientTlsFieldNames {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string server_name;
};

// The names of the config file's ClientTlsConfig at `prefix`:
// "<prefix>.caFile", "<prefix>.certFile", "<prefix>.keyFile",
// "<prefix>.serverName".
GrpcClientTlsFieldNames GrpcClientTlsConfigNames(
    absl::string_view prefix = "grpcClientTls");

// Credentials for grpc::ServerBuilder::AddListeningPort. INVALID_ARGUMENT,
// the message starting with the field's name, when: cert_file or key_file is
// set without the other; client_ca_file is set without both; a file cannot
// be read; cert_file or client_ca_file holds no PEM certificate; key_file
// holds no unencrypted PEM private key; the key does not match cert_file's
// first certificate.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> GrpcServerCredentials(
    const GrpcServerTlsFiles& files,
    const GrpcServerTlsFieldNames& names = GrpcServerTlsConfigNames());

// Credentials for grpc::CreateCustomChannel; sets the TLS target name
// override on `*args` (not null) when server_name is set. INVALID_ARGUMENT,
// the message starting with the field's name, when: cert_file or key_file is
// set without the other; server_name is set without TLS; a file cannot be
// read or holds no PEM certificate (ca_file, cert_file) or no unencrypted
// PEM private key (key_file); the key does not match cert_file.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
GrpcChannelCredentials(
    const GrpcClientTlsFiles& files, grpc::ChannelArguments* args,
    const GrpcClientTlsFieldNames& names = GrpcClientTlsConfigNames());

}  // namespace callpush

#endif  // CALLPUSH_CLIENTS_BASE_GRPC_CREDENTIALS_H_
