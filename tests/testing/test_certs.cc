#include "tests/testing/test_certs.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tests/sandbox/cert_maker.h"

namespace callpush::testing {

absl::StatusOr<std::unique_ptr<TestPki>> TestPki::Make() {
  std::string pattern =
      absl::StrCat(::testing::TempDir(), "callpush-pki-XXXXXX");
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp ", pattern, " failed"));
  }
  auto pki = std::unique_ptr<TestPki>(new TestPki(buffer.data()));
  auto files = sandbox::MakeSandboxCredentials(
      pki->dir_, {"https://127.0.0.1:1/token", "test", "test@example.com"});
  if (!files.ok()) return files.status();
  pki->ca_cert_ = files->ca_cert;
  pki->server_cert_ = files->server_cert;
  pki->server_key_ = files->server_key;
  pki->client_cert_ = files->client_cert;
  pki->client_key_ = files->client_key;
  return pki;
}

TestPki::~TestPki() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

absl::StatusOr<std::string> TestPki::WriteFile(
    const std::string& name, const std::string& contents) const {
  std::string path = absl::StrCat(dir_, "/", name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return path;
}

}  // namespace callpush::testing
