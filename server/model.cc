#include "server/model.h"

namespace callpush {

const char* PlatformName(Platform p) {
  return p == Platform::kIos ? "ios" : "android";
}

const char* TokenKindName(TokenKind k) {
  return k == TokenKind::kVoip ? "voip" : "push";
}

bool ParsePlatform(const std::string& s, Platform* p) {
  if (s == "ios")
    *p = Platform::kIos;
  else if (s == "android")
    *p = Platform::kAndroid;
  else
    return false;
  return true;
}

bool ParsePushKind(const std::string& s, PushKind* k) {
  if (s == "call")
    *k = PushKind::kCall;
  else if (s == "update")
    *k = PushKind::kUpdate;
  else if (s == "cancel")
    *k = PushKind::kCancel;
  else
    return false;
  return true;
}

const char* PushOutcomeName(PushOutcome o) {
  switch (o) {
    case PushOutcome::kPending:
      return "pending";
    case PushOutcome::kAccepted:
      return "accepted";
    case PushOutcome::kRejected:
      return "rejected";
    case PushOutcome::kFailed:
      return "failed";
  }
  return "failed";
}

bool ParsePushOutcome(const std::string& s, PushOutcome* o) {
  if (s == "pending")
    *o = PushOutcome::kPending;
  else if (s == "accepted")
    *o = PushOutcome::kAccepted;
  else if (s == "rejected")
    *o = PushOutcome::kRejected;
  else if (s == "failed")
    *o = PushOutcome::kFailed;
  else
    return false;
  return true;
}

}  // namespace callpush
