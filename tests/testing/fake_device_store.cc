#include "tests/testing/fake_device_store.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace callpush::testing {

void FakeDeviceStore::FailWith(absl::Status status) {
  absl::MutexLock lock(&mu_);
  failure_ = std::move(status);
}

absl::Status FakeDeviceStore::Check(absl::Time deadline) const {
  absl::MutexLock lock(&mu_);
  if (!failure_.ok()) return failure_;
  if (clock_.Now() >= deadline) {
    return absl::DeadlineExceededError("fake store: deadline passed");
  }
  return absl::OkStatus();
}

std::string FakeDeviceStore::NewId() {
  // Canonical lower-case UUIDs, distinct and ordered by creation.
  return absl::StrFormat("00000000-0000-4000-8000-%012d", next_id_++);
}

std::string FakeDeviceStore::PatientFor(const std::string& mobile_number) {
  for (auto& [id, p] : patients_) {
    if (p.mobile_number == mobile_number) return id;
  }
  PatientRecord p;
  p.id = NewId();
  p.mobile_number = mobile_number;
  p.active = true;
  p.created_at = p.updated_at = clock_.Now();
  patients_[p.id] = p;
  return p.id;
}

DeviceRecord FakeDeviceStore::Joined(const DeviceRecord& d) const {
  DeviceRecord out = d;
  const PatientRecord& p = patients_.at(d.patient_id);
  out.mobile_number = p.mobile_number;
  out.patient_active = p.active;
  return out;
}

DeviceRecord FakeDeviceStore::AddDevice(const std::string& mobile_number,
                                        Platform platform,
                                        std::optional<std::string> voip_token,
                                        std::optional<std::string> push_token,
                                        bool inbound_calls_allowed) {
  absl::MutexLock lock(&mu_);
  DeviceRecord d;
  d.id = NewId();
  d.patient_id = PatientFor(mobile_number);
  d.platform = platform;
  d.app = "demo";
  d.voip_token = std::move(voip_token);
  d.push_token = std::move(push_token);
  d.inbound_calls_allowed = inbound_calls_allowed;
  d.token_updated_at = d.created_at = d.updated_at = clock_.Now();
  devices_[d.id] = d;
  return Joined(d);
}

void FakeDeviceStore::SetActive(const std::string& mobile_number, bool active) {
  absl::MutexLock lock(&mu_);
  patients_[PatientFor(mobile_number)].active = active;
}

std::optional<DeviceRecord> FakeDeviceStore::Device(
    const std::string& id) const {
  absl::MutexLock lock(&mu_);
  auto it = devices_.find(id);
  if (it == devices_.end()) return std::nullopt;
  return Joined(it->second);
}

std::vector<PushAttempt> FakeDeviceStore::Attempts() const {
  absl::MutexLock lock(&mu_);
  std::vector<PushAttempt> out;
  for (const Attempt& a : attempts_) out.push_back(a.attempt);
  return out;
}

void FakeDeviceStore::ListCallableDevices(
    const std::string& mobile_number, absl::Time deadline,
    StoreCallback<std::vector<std::string>> done) {
  if (absl::Status s = Check(deadline); !s.ok()) return done(s);
  std::vector<DeviceRecord> matches;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, d] : devices_) {
      DeviceRecord j = Joined(d);
      if (j.mobile_number == mobile_number && j.patient_active &&
          j.inbound_calls_allowed && j.voip_token.has_value()) {
        matches.push_back(j);
      }
    }
  }
  std::stable_sort(matches.begin(), matches.end(),
                   [](const DeviceRecord& a, const DeviceRecord& b) {
                     return a.created_at < b.created_at;
                   });
  std::vector<std::string> ids;
  for (const auto& d : matches) ids.push_back(d.id);
  done(std::move(ids));
}

void FakeDeviceStore::GetDevice(const std::string& device_id,
                                absl::Time deadline,
                                StoreCallback<DeviceRecord> done) {
  if (absl::Status s = Check(deadline); !s.ok()) return done(s);
  std::optional<DeviceRecord> d = Device(device_id);
  if (!d) return done(absl::NotFoundError("device not found"));
  done(*std::move(d));
}

void FakeDeviceStore::ClaimCall(const std::string& call_id,
                                const std::string& device_id,
                                const std::string& provider,
                                absl::Duration ring_window, absl::Time deadline,
                                StoreCallback<CallClaim> done) {
  if (absl::Status s = Check(deadline); !s.ok()) return done(s);
  CallClaim claim;
  {
    absl::MutexLock lock(&mu_);
    absl::Time now = clock_.Now();
    bool open_found = false;
    for (Attempt& a : attempts_) {
      if (!a.claim_open || a.attempt.call_id != call_id ||
          a.attempt.device_id != device_id) {
        continue;
      }
      if (a.attempt.created_at < now - ring_window) {
        a.claim_open = false;
        continue;
      }
      open_found = true;
      claim.claimed = false;
      claim.existing = a.attempt.outcome;
      break;
    }
    if (!open_found) {
      Attempt a;
      a.attempt.id = static_cast<int64_t>(attempts_.size()) + 1;
      a.attempt.call_id = call_id;
      a.attempt.device_id = device_id;
      a.attempt.kind = PushKind::kCall;
      a.attempt.provider = provider;
      a.attempt.outcome = PushOutcome::kPending;
      a.attempt.created_at = now;
      a.claim_open = true;
      attempts_.push_back(a);
      claim.claimed = true;
      claim.attempt_id = a.attempt.id;
    }
  }
  done(claim);
}

void FakeDeviceStore::RecordPush(const PushAttempt& attempt,
                                 absl::Time deadline, StatusCallback done) {
  if (absl::Status s = Check(deadline); !s.ok()) return done(s);
  {
    absl::MutexLock lock(&mu_);
    if (attempt.id != 0) {
      Attempt& a = attempts_.at(attempt.id - 1);
      absl::Time created = a.attempt.created_at;
      a.attempt = attempt;
      a.attempt.created_at = created;
      a.claim_open = attempt.outcome == PushOutcome::kAccepted;
    } else {
      Attempt a;
      a.attempt = attempt;
      a.attempt.id = static_cast<int64_t>(attempts_.size()) + 1;
      a.attempt.created_at = clock_.Now();
      attempts_.push_back(a);
    }
  }
  done(absl::OkStatus());
}

void FakeDeviceStore::InvalidateToken(const std::string& device_id,
                                      const std::string& token,
                                      std::optional<absl::Time> invalidated_at,
                                      absl::Time deadline,
                                      StoreCallback<bool> done) {
  if (absl::Status s = Check(deadline); !s.ok()) return done(s);
  bool cleared = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = devices_.find(device_id);
    if (it != devices_.end()) {
      DeviceRecord& d = it->second;
      bool holds = d.voip_token == token || d.push_token == token;
      bool newer = invalidated_at && d.token_updated_at > *invalidated_at;
      if (holds && !newer) {
        if (d.voip_token == token) d.voip_token.reset();
        if (d.push_token == token) d.push_token.reset();
        d.token_updated_at = d.updated_at = clock_.Now();
        cleared = true;
      }
    }
  }
  done(cleared);
}

void FakeDeviceStore::RegisterDevice(const DeviceRegistration& r,
                                     absl::Time deadline,
                                     StoreCallback<DeviceRecord> done) {
  if (absl::Status s = Check(deadline); !s.ok()) return done(s);
  DeviceRecord out;
  {
    absl::MutexLock lock(&mu_);
    std::string id = r.device_id.empty() ? NewId() : r.device_id;
    auto [it, created] = devices_.try_emplace(id);
    DeviceRecord& d = it->second;
    absl::Time now = clock_.Now();
    if (created) {
      d.id = id;
      d.created_at = now;
      d.token_updated_at = now;
      d.inbound_calls_allowed = true;
    }
    d.patient_id = PatientFor(r.mobile_number);
    d.platform = r.platform;
    d.app = r.app;
    d.environment = r.environment;
    auto set_token = [&](const std::optional<std::string>& in,
                         std::optional<std::string>& field) {
      if (!in) return;
      std::optional<std::string> v =
          in->empty() ? std::nullopt : std::optional<std::string>(*in);
      if (v != field) d.token_updated_at = now;
      field = v;
    };
    set_token(r.voip_token, d.voip_token);
    set_token(r.push_token, d.push_token);
    if (r.inbound_calls_allowed)
      d.inbound_calls_allowed = *r.inbound_calls_allowed;
    d.updated_at = now;
    out = Joined(d);
  }
  done(out);
}

void FakeDeviceStore::SetInboundCallsAllowed(const std::string& device_id,
                                             bool allowed, absl::Time deadline,
                                             StoreCallback<DeviceRecord> done) {
  if (absl::Status s = Check(deadline); !s.ok()) return done(s);
  std::optional<DeviceRecord> out;
  {
    absl::MutexLock lock(&mu_);
    auto it = devices_.find(device_id);
    if (it != devices_.end()) {
      it->second.inbound_calls_allowed = allowed;
      it->second.updated_at = clock_.Now();
      out = Joined(it->second);
    }
  }
  if (!out) return done(absl::NotFoundError("device not found"));
  done(*std::move(out));
}

void FakeDeviceStore::SetPatientActive(const std::string& mobile_number,
                                       bool active, absl::Time deadline,
                                       StoreCallback<PatientRecord> done) {
  if (absl::Status s = Check(deadline); !s.ok()) return done(s);
  std::optional<PatientRecord> out;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [id, p] : patients_) {
      if (p.mobile_number == mobile_number) {
        p.active = active;
        p.updated_at = clock_.Now();
        out = p;
      }
    }
  }
  if (!out) return done(absl::NotFoundError("patient not found"));
  done(*std::move(out));
}

void FakeDeviceStore::RemoveDevice(const std::string& device_id,
                                   absl::Time deadline, StatusCallback done) {
  if (absl::Status s = Check(deadline); !s.ok()) return done(s);
  size_t erased;
  {
    absl::MutexLock lock(&mu_);
    erased = devices_.erase(device_id);
  }
  done(erased ? absl::OkStatus() : absl::NotFoundError("device not found"));
}

void FakeDeviceStore::ListDevices(
    const std::string& mobile_number, absl::Time deadline,
    StoreCallback<std::vector<DeviceRecord>> done) {
  if (absl::Status s = Check(deadline); !s.ok()) return done(s);
  std::vector<DeviceRecord> out;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, d] : devices_) {
      DeviceRecord j = Joined(d);
      if (j.mobile_number == mobile_number) out.push_back(j);
    }
  }
  done(std::move(out));
}

void FakeDeviceStore::ListCallPushes(
    const std::string& call_id, absl::Time deadline,
    StoreCallback<std::vector<PushAttempt>> done) {
  if (absl::Status s = Check(deadline); !s.ok()) return done(s);
  std::vector<PushAttempt> out;
  for (const PushAttempt& a : Attempts()) {
    if (a.call_id == call_id) out.push_back(a);
  }
  done(std::move(out));
}

void FakeDeviceStore::Ping(absl::Time deadline, StatusCallback done) {
  done(Check(deadline));
}

void FakeDeviceStore::PrunePushes(absl::Time before, absl::Time deadline,
                                  StoreCallback<int64_t> done) {
  if (absl::Status s = Check(deadline); !s.ok()) return done(s);
  // Ids index attempts_, so the fake marks pruned rows rather than erase.
  int64_t n = 0;
  {
    absl::MutexLock lock(&mu_);
    for (Attempt& a : attempts_) {
      if (a.attempt.created_at < before && !a.attempt.call_id.empty()) {
        a.attempt.call_id.clear();
        a.claim_open = false;
        ++n;
      }
    }
  }
  done(n);
}

}  // namespace callpush::testing
