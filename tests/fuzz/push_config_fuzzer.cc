// Fuzz target: the push configuration (server/push_config.h), as a
// pushConfigFile holds it. ParsePushConfig parses and then validates, and
// validation opens the credential files named; so a parse error goes
// through ParsePushConfig itself, while a configuration that parses has its
// files confined to fixtures (fixture_files.h) before ValidatePushConfig.
// Beyond not crashing: what validates has unique, well-formed app names and
// a provider for each, and FindApp finds each by name.
#include <google/protobuf/util/json_util.h>

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "callpush/v1/push_config.pb.h"
#include "server/push_config.h"
#include "tests/fuzz/fixture_files.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  callpush::fuzz::QuietLogs();
  callpush::fuzz::FixtureFiles::Get();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using callpush::fuzz::FixtureFiles;
  const std::string json(reinterpret_cast<const char*>(data), size);
  callpush::v1::PushConfig config;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;  // as ParsePushConfig
  if (!google::protobuf::util::JsonStringToMessage(json, &config, options)
           .ok()) {
    const auto parsed = callpush::ParsePushConfig(json);
    FUZZ_CHECK(!parsed.ok());
    FUZZ_CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(absl::StartsWith(parsed.status().message(), "push config: "));
    return 0;
  }
  FixtureFiles::Get().Confine(&config);
  const absl::Status valid = callpush::ValidatePushConfig(config);
  if (!valid.ok()) {
    FUZZ_CHECK(valid.code() == absl::StatusCode::kInvalidArgument);
    // Errors name the field: "apps[1].apns.keyFile: cannot read ...".
    FUZZ_CHECK(absl::StartsWith(valid.message(), "apps["));
    return 0;
  }
  std::set<std::string> names;
  for (const auto& app : config.apps()) {
    FUZZ_CHECK(!app.name().empty());
    FUZZ_CHECK(names.insert(app.name()).second);
    FUZZ_CHECK(app.has_apns() || app.has_fcm());
    FUZZ_CHECK(callpush::FindApp(config, app.name()) == &app);
  }
  return 0;
}
