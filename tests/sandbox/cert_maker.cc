#include "tests/sandbox/cert_maker.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cerrno>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "absl/strings/str_cat.h"
#include "clients/base/status_macros.h"

namespace callpush::sandbox {
namespace {

struct X509Deleter {
  void operator()(X509* cert) const { X509_free(cert); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;

constexpr long kValiditySeconds = 365L * 24 * 3600;

absl::Status SslError(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", OpenSslErrorText()));
}

absl::Status AddExtension(X509* cert, X509* issuer, int nid,
                          const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return SslError(absl::StrCat("extension ", value));
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (ok != 1) return SslError("X509_add_ext");
  return absl::OkStatus();
}

enum class CertKind { kCa, kServer, kClient };

// A certificate for `key`, signed by `issuer_key` (self-signed when
// `issuer` is null).
absl::StatusOr<X509Ptr> MakeCertificate(EVP_PKEY* key, const std::string& cn,
                                        CertKind kind, X509* issuer,
                                        EVP_PKEY* issuer_key) {
  X509Ptr cert(X509_new());
  if (!cert) return SslError("X509_new");
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof(serial));
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), kValiditySeconds);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(
      name, "O", MBSTRING_ASC,
      reinterpret_cast<const unsigned char*>("callpush sandbox"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()),
                             -1, -1, 0);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  switch (kind) {
    case CertKind::kCa:
      RETURN_IF_ERROR(AddExtension(cert.get(), signer, NID_basic_constraints,
                                   "critical,CA:TRUE"));
      RETURN_IF_ERROR(AddExtension(cert.get(), signer, NID_key_usage,
                                   "critical,keyCertSign,cRLSign"));
      break;
    case CertKind::kServer:
      RETURN_IF_ERROR(AddExtension(cert.get(), signer, NID_basic_constraints,
                                   "critical,CA:FALSE"));
      RETURN_IF_ERROR(
          AddExtension(cert.get(), signer, NID_ext_key_usage, "serverAuth"));
      RETURN_IF_ERROR(AddExtension(cert.get(), signer, NID_subject_alt_name,
                                   "DNS:localhost,IP:127.0.0.1,IP:::1"));
      break;
    case CertKind::kClient:
      RETURN_IF_ERROR(AddExtension(cert.get(), signer, NID_basic_constraints,
                                   "critical,CA:FALSE"));
      RETURN_IF_ERROR(
          AddExtension(cert.get(), signer, NID_ext_key_usage, "clientAuth"));
      break;
  }
  RETURN_IF_ERROR(
      AddExtension(cert.get(), signer, NID_subject_key_identifier, "hash"));
  if (X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key,
                EVP_sha256()) == 0) {
    return SslError("X509_sign");
  }
  return cert;
}

absl::StatusOr<std::string> CertificateToPem(X509* cert) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()),
                                                &BIO_free);
  if (PEM_write_bio_X509(bio.get(), cert) != 1) {
    return SslError("PEM_write_bio_X509");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

absl::Status WriteCertificate(const std::string& path, X509* cert) {
  ASSIGN_OR_RETURN(std::string pem, CertificateToPem(cert));
  return WriteStringToFile(path, pem, /*secret=*/false);
}

absl::Status WriteKeyPair(const std::string& private_path,
                          const std::string& public_path, EVP_PKEY* key) {
  ASSIGN_OR_RETURN(std::string private_pem, PrivateKeyToPem(key));
  RETURN_IF_ERROR(WriteStringToFile(private_path, private_pem, true));
  if (public_path.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::string public_pem, PublicKeyToPem(key));
  return WriteStringToFile(public_path, public_pem, false);
}

}  // namespace

absl::StatusOr<PKeyPtr> GenerateEcP256Key() {
  PKeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return SslError("EVP_EC_gen");
  return key;
}

absl::StatusOr<PKeyPtr> GenerateRsaKey(int bits) {
  PKeyPtr key(EVP_RSA_gen(static_cast<unsigned int>(bits)));
  if (!key) return SslError("EVP_RSA_gen");
  return key;
}

absl::StatusOr<SandboxCredentials> MakeSandboxCredentials(
    const std::string& dir, const CredentialOptions& options) {
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::PermissionDeniedError(absl::StrCat("cannot create ", dir));
  }
  SandboxCredentials files;
  auto path = [&dir](const char* name) { return absl::StrCat(dir, "/", name); };
  files.ca_cert = path("ca.pem");
  files.server_cert = path("server.pem");
  files.server_key = path("server-key.pem");
  files.client_cert = path("client.pem");
  files.client_key = path("client-key.pem");
  files.apns_private_key = path("apns-key.p8");
  files.apns_public_key = path("apns-public.pem");
  files.fcm_service_account = path("fcm-service-account.json");
  files.fcm_public_key = path("fcm-public.pem");

  ASSIGN_OR_RETURN(PKeyPtr ca_key, GenerateEcP256Key());
  ASSIGN_OR_RETURN(X509Ptr ca,
                   MakeCertificate(ca_key.get(), "callpush sandbox CA",
                                   CertKind::kCa, nullptr, nullptr));
  RETURN_IF_ERROR(WriteCertificate(files.ca_cert, ca.get()));

  ASSIGN_OR_RETURN(PKeyPtr server_key, GenerateEcP256Key());
  ASSIGN_OR_RETURN(X509Ptr server,
                   MakeCertificate(server_key.get(), "localhost",
                                   CertKind::kServer, ca.get(), ca_key.get()));
  RETURN_IF_ERROR(WriteKeyPair(files.server_key, "", server_key.get()));
  // The chain the server presents: its certificate, then the CA.
  ASSIGN_OR_RETURN(std::string server_pem, CertificateToPem(server.get()));
  ASSIGN_OR_RETURN(std::string ca_pem, CertificateToPem(ca.get()));
  RETURN_IF_ERROR(WriteStringToFile(files.server_cert,
                                    absl::StrCat(server_pem, ca_pem), false));

  ASSIGN_OR_RETURN(PKeyPtr client_key, GenerateEcP256Key());
  ASSIGN_OR_RETURN(
      X509Ptr client,
      MakeCertificate(client_key.get(), "callpush sandbox APNs client",
                      CertKind::kClient, ca.get(), ca_key.get()));
  RETURN_IF_ERROR(WriteKeyPair(files.client_key, "", client_key.get()));
  RETURN_IF_ERROR(WriteCertificate(files.client_cert, client.get()));

  ASSIGN_OR_RETURN(PKeyPtr apns_key, GenerateEcP256Key());
  RETURN_IF_ERROR(WriteKeyPair(files.apns_private_key, files.apns_public_key,
                               apns_key.get()));

  ASSIGN_OR_RETURN(PKeyPtr fcm_key, GenerateRsaKey(2048));
  ASSIGN_OR_RETURN(std::string fcm_private_pem, PrivateKeyToPem(fcm_key.get()));
  ASSIGN_OR_RETURN(std::string fcm_public_pem, PublicKeyToPem(fcm_key.get()));
  RETURN_IF_ERROR(WriteStringToFile(files.fcm_public_key, fcm_public_pem,
                                    /*secret=*/false));
  nlohmann::json account = {
      {"type", "service_account"},
      {"project_id", options.project_id},
      {"private_key_id", "sandbox"},
      {"private_key", fcm_private_pem},
      {"client_email", options.client_email},
      {"client_id", "000000000000000000000"},
      {"auth_uri", "https://accounts.google.com/o/oauth2/auth"},
      {"token_uri", options.token_uri},
  };
  RETURN_IF_ERROR(WriteStringToFile(files.fcm_service_account,
                                    account.dump(2) + "\n", /*secret=*/true));
  return files;
}

}  // namespace callpush::sandbox
