// ReadCertificateExpiry: the notAfter of an APNs client certificate (PEM),
// for certificate auth. Apple's push certificates last a year and a lapsed
// one stops every push of its app, so the server logs and exports it.
#ifndef CALLPUSH_CLIENTS_APNS_CERTIFICATE_EXPIRY_H_
#define CALLPUSH_CLIENTS_APNS_CERTIFICATE_EXPIRY_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace callpush {

// The first certificate in `pem`. INVALID_ARGUMENT if there is none or its
// notAfter cannot be read. Pure; thread-safe.
absl::StatusOr<absl::Time> CertificateExpiry(absl::string_view pem);

// The same for a file (ReadCredentialFile: FAILED_PRECONDITION naming the
// path if it cannot be read). Blocking file I/O: call at startup.
absl::StatusOr<absl::Time> ReadCertificateExpiry(const std::string& path);

}  // namespace callpush

#endif  // CALLPUSH_CLIENTS_APNS_CERTIFICATE_EXPIRY_H_
