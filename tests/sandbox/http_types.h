// The request and answer of one HTTP/2 stream as the sandbox's endpoints see
// them, independent of nghttp2, plus the handler seam between the HTTP/2
// session and the endpoints.
#ifndef CALLPUSH_TESTS_SANDBOX_HTTP_TYPES_H_
#define CALLPUSH_TESTS_SANDBOX_HTTP_TYPES_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "tests/sandbox/rules.h"

namespace callpush::sandbox {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;     // :method
  std::string path;       // :path
  std::string authority;  // :authority
  HeaderList headers;     // regular headers, names lower-case
  std::string body;
  bool client_certificate = false;  // the TLS peer presented a verified cert

  // The first header named `name` (lower-case), if any.
  absl::optional<std::string> Header(absl::string_view name) const {
    for (const auto& [key, value] : headers) {
      if (key == name) return value;
    }
    return absl::nullopt;
  }
};

struct HttpResponse {
  int status = 200;
  HeaderList headers;
  std::string body;
};

// Whether the answer to a stream left the sandbox: true once its last frame
// (END_STREAM) was written to the socket; false when the stream or the
// connection closed first (the client reset the stream at its deadline
// during a delay, or went away). Called at most once, on the session's loop.
using AnswerCallback = absl::AnyInvocable<void(bool sent)>;

// What a session does with a finished request.
struct StreamReply {
  StreamAction action = StreamAction::kRespond;
  HttpResponse response;  // used when action == kRespond
  absl::Duration delay = absl::ZeroDuration();
  AnswerCallback on_answer;  // used when action == kRespond; may be empty
};

// Called by an HTTP/2 session on its event loop for each complete request.
// Must not block; the session applies `delay` itself.
class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  virtual StreamReply Handle(const HttpRequest& request) = 0;
  // A complete request the session did not hand to Handle() because it
  // arrived above the last-stream-id of a GOAWAY the session had sent.
  virtual void NotProcessed(const HttpRequest& request, StreamAction why) = 0;
};

}  // namespace callpush::sandbox

#endif  // CALLPUSH_TESTS_SANDBOX_HTTP_TYPES_H_
