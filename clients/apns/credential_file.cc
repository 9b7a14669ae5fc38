#include "clients/apns/credential_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace callpush {

absl::StatusOr<std::string> ReadCredentialFile(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"),
                                          &std::fclose);
  if (f == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  std::string contents;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f.get())) > 0) {
    contents.append(buf, n);
    if (contents.size() > kMaxCredentialFileBytes) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot read ", path, ": larger than ",
                       kMaxCredentialFileBytes, " bytes"));
    }
  }
  if (std::ferror(f.get())) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read ", path, ": read error"));
  }
  return contents;
}

}  // namespace callpush
