#include "clients/base/grpc_credentials.h"

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "clients/base/status_macros.h"

namespace callpush {
namespace {

// A CA bundle such as Debian's ca-certificates.crt is ~200 KiB; anything far
// larger is a wrong path (a log, a device), not a PEM file.
constexpr size_t kMaxPemFileBytes = 4 << 20;

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct PKeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PKeyPtr = std::unique_ptr<EVP_PKEY, PKeyFree>;

absl::Status FieldError(absl::string_view field, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", message));
}

absl::StatusOr<std::string> ReadPemFile(absl::string_view field,
                                        const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"),
                                          &std::fclose);
  if (f == nullptr) {
    return FieldError(
        field, absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  std::string contents;
  char buf[8192];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f.get())) > 0) {
    contents.append(buf, n);
    if (contents.size() > kMaxPemFileBytes) {
      return FieldError(field,
                        absl::StrCat("cannot read ", path, ": larger than ",
                                     kMaxPemFileBytes, " bytes"));
    }
  }
  if (std::ferror(f.get())) {
    return FieldError(
        field, absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  return contents;
}

BioPtr MemoryBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// The first certificate in `pem`; PEM blocks of other kinds are skipped.
X509Ptr FirstCertificate(const std::string& pem) {
  BioPtr bio = MemoryBio(pem);
  X509Ptr cert(bio == nullptr
                   ? nullptr
                   : PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  // Left on this thread's queue, a PEM error would surface in an unrelated
  // OpenSSL call later (gRPC's handshakes share the library).
  ERR_clear_error();
  return cert;
}

// Never prompts on the terminal for a passphrase: gRPC cannot use an
// encrypted key anyway.
int NoPassphrase(char*, int, int, void*) { return -1; }

PKeyPtr FirstPrivateKey(const std::string& pem) {
  BioPtr bio = MemoryBio(pem);
  PKeyPtr key(bio == nullptr ? nullptr
                             : PEM_read_bio_PrivateKey(bio.get(), nullptr,
                                                       &NoPassphrase, nullptr));
  ERR_clear_error();
  return key;
}

// A certificate file and its key, read and checked against each other.
struct KeyPair {
  std::string cert_pem;
  std::string key_pem;
};

absl::StatusOr<std::string> ReadCertificates(absl::string_view field,
                                             const std::string& path) {
  ASSIGN_OR_RETURN(std::string pem, ReadPemFile(field, path));
  if (FirstCertificate(pem) == nullptr) {
    return FieldError(field, absl::StrCat(path, " holds no PEM certificate"));
  }
  return pem;
}

absl::StatusOr<KeyPair> ReadKeyPair(absl::string_view cert_field,
                                    const std::string& cert_path,
                                    absl::string_view key_field,
                                    const std::string& key_path) {
  KeyPair pair;
  ASSIGN_OR_RETURN(pair.cert_pem, ReadPemFile(cert_field, cert_path));
  X509Ptr cert = FirstCertificate(pair.cert_pem);
  if (cert == nullptr) {
    return FieldError(cert_field,
                      absl::StrCat(cert_path, " holds no PEM certificate"));
  }
  ASSIGN_OR_RETURN(pair.key_pem, ReadPemFile(key_field, key_path));
  PKeyPtr key = FirstPrivateKey(pair.key_pem);
  if (key == nullptr) {
    return FieldError(
        key_field,
        absl::StrCat(key_path,
                     " holds no PEM private key (or an encrypted one)"));
  }
  bool matches = X509_check_private_key(cert.get(), key.get()) == 1;
  ERR_clear_error();
  if (!matches) {
    return FieldError(key_field, absl::StrCat(key_path,
                                              " is not the key of the "
                                              "certificate in ",
                                              cert_path));
  }
  return pair;
}

// cert_file and key_file come together.
absl::Status CheckBothOrNeither(const std::string& cert_file,
                                absl::string_view cert_field,
                                const std::string& key_file,
                                absl::string_view key_field) {
  if (!cert_file.empty() && key_file.empty()) {
    return FieldError(key_field, absl::StrCat("is required with ", cert_field));
  }
  if (cert_file.empty() && !key_file.empty()) {
    return FieldError(cert_field, absl::StrCat("is required with ", key_field));
  }
  return absl::OkStatus();
}

}  // namespace

GrpcServerTlsFieldNames GrpcServerTlsConfigNames(absl::string_view prefix) {
  return {absl::StrCat(prefix, ".certFile"), absl::StrCat(prefix, ".keyFile"),
          absl::StrCat(prefix, ".clientCaFile")};
}

GrpcClientTlsFieldNames GrpcClientTlsConfigNames(absl::string_view prefix) {
  return {absl::StrCat(prefix, ".caFile"), absl::StrCat(prefix, ".certFile"),
          absl::StrCat(prefix, ".keyFile"),
          absl::StrCat(prefix, ".serverName")};
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> GrpcServerCredentials(
    const GrpcServerTlsFiles& files, const GrpcServerTlsFieldNames& names) {
  RETURN_IF_ERROR(CheckBothOrNeither(files.cert_file, names.cert_file,
                                     files.key_file, names.key_file));
  if (files.cert_file.empty()) {
    if (!files.client_ca_file.empty()) {
      return FieldError(
          names.client_ca_file,
          absl::StrCat("needs ", names.cert_file, " and ", names.key_file));
    }
    return grpc::InsecureServerCredentials();
  }
  ASSIGN_OR_RETURN(KeyPair pair, ReadKeyPair(names.cert_file, files.cert_file,
                                             names.key_file, files.key_file));
  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  options.pem_key_cert_pairs.push_back(
      {std::move(pair.key_pem), std::move(pair.cert_pem)});
  if (!files.client_ca_file.empty()) {
    ASSIGN_OR_RETURN(
        options.pem_root_certs,
        ReadCertificates(names.client_ca_file, files.client_ca_file));
    options.client_certificate_request =
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
GrpcChannelCredentials(const GrpcClientTlsFiles& files,
                       grpc::ChannelArguments* args,
                       const GrpcClientTlsFieldNames& names) {
  RETURN_IF_ERROR(CheckBothOrNeither(files.cert_file, names.cert_file,
                                     files.key_file, names.key_file));
  if (files.ca_file.empty() && files.cert_file.empty()) {
    if (!files.server_name.empty()) {
      return FieldError(
          names.server_name,
          absl::StrCat("applies to TLS only: set ", names.ca_file));
    }
    return grpc::InsecureChannelCredentials();
  }
  grpc::SslCredentialsOptions options;
  if (!files.ca_file.empty()) {
    ASSIGN_OR_RETURN(options.pem_root_certs,
                     ReadCertificates(names.ca_file, files.ca_file));
  }
  if (!files.cert_file.empty()) {
    ASSIGN_OR_RETURN(KeyPair pair, ReadKeyPair(names.cert_file, files.cert_file,
                                               names.key_file, files.key_file));
    options.pem_cert_chain = std::move(pair.cert_pem);
    options.pem_private_key = std::move(pair.key_pem);
  }
  if (!files.server_name.empty()) {
    args->SetSslTargetNameOverride(files.server_name);
  }
  return grpc::SslCredentials(options);
}

}  // namespace callpush
