// FixtureFiles: the files a configuration fuzzer lets the code under test
// open. Configuration names files (keys, certificates, the database URL, the
// push configuration) that validation opens or reads; a fuzzer must not
// open whatever path it makes up (a FIFO blocks, a device has effects), so
// every `*_file` string field is rewritten first to a file in a private
// temporary directory: an existing one (content by field, e.g. a database
// URL for url_file, a valid push configuration for push_config_file) for
// values of even length, a missing one otherwise. Header-only.
#ifndef CALLPUSH_TESTS_FUZZ_FIXTURE_FILES_H_
#define CALLPUSH_TESTS_FUZZ_FIXTURE_FILES_H_

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/fuzz/fuzz_support.h"

namespace callpush::fuzz {

class FixtureFiles {
 public:
  // Made on first use under $TMPDIR (or /tmp), removed at exit.
  static FixtureFiles& Get() {
    static FixtureFiles* files = new FixtureFiles();
    return *files;
  }

  const std::string& dir() const { return dir_; }

  std::string PathFor(const std::string& field, const std::string& value) {
    if (value.size() % 2 == 1) return absl::StrCat(dir_, "/missing/", field);
    const std::string path = absl::StrCat(dir_, "/", field);
    if (!absl::c_linear_search(made_, path)) {
      std::string content = "fixture\n";
      if (field == "url_file") {
        content = "postgresql://fuzz@127.0.0.1:5432/fuzz\n";
      } else if (field == "push_config_file") {
        content = absl::StrCat(
            R"({"apps":[{"name":"demo","apns":{"bundleId":"com.example.app",)",
            R"("teamId":"TEAM123456","keyId":"KEY1234567","keyFile":")", dir_,
            R"(/key_file"},"fcm":{"projectId":"demo-project",)",
            R"("serviceAccountFile":")", dir_, R"(/service_account_file"}}]})");
        PathFor("key_file", "");
        PathFor("service_account_file", "");
      }
      std::ofstream(path) << content;
      made_.push_back(path);
    }
    return path;
  }

  // Rewrites every non-empty string field named *_file in `msg`, nested
  // messages included.
  void Confine(google::protobuf::Message* msg) {
    using google::protobuf::FieldDescriptor;
    const google::protobuf::Reflection* r = msg->GetReflection();
    std::vector<const FieldDescriptor*> fields;
    r->ListFields(*msg, &fields);
    for (const FieldDescriptor* f : fields) {
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        if (f->is_repeated()) {
          for (int i = 0; i < r->FieldSize(*msg, f); ++i) {
            Confine(r->MutableRepeatedMessage(msg, f, i));
          }
        } else {
          Confine(r->MutableMessage(msg, f));
        }
      } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_STRING &&
                 !f->is_repeated() && absl::EndsWith(f->name(), "_file")) {
        const std::string value = r->GetString(*msg, f);
        if (!value.empty()) r->SetString(msg, f, PathFor(f->name(), value));
      }
    }
  }

 private:
  FixtureFiles() {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = absl::StrCat(tmp != nullptr && *tmp ? tmp : "/tmp",
                                     "/callpush-fuzz-XXXXXX");
    FUZZ_CHECK(mkdtemp(templ.data()) != nullptr);
    dir_ = templ;
    std::atexit([] { Get().Remove(); });
  }

  void Remove() {
    for (const std::string& path : made_) unlink(path.c_str());
    rmdir(dir_.c_str());
  }

  std::string dir_;
  std::vector<std::string> made_;
};

}  // namespace callpush::fuzz

#endif  // CALLPUSH_TESTS_FUZZ_FIXTURE_FILES_H_
