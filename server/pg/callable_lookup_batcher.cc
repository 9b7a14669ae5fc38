#include "server/pg/callable_lookup_batcher.h"

#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <utility>

#include "server/pg/sql.h"

namespace callpush {

std::string PgTextArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.push_back('"');
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

CallableLookupBatcher::CallableLookupBatcher(PgPool& pool, const Clock& clock,
                                             size_t max_batch)
    : pool_(pool), clock_(clock), max_batch_(max_batch) {}

std::vector<CallableLookupBatcher::Pending> CallableLookupBatcher::Take() {
  std::vector<Pending> batch, expired;
  absl::Time now = clock_.Now();
  {
    absl::MutexLock lock(&mu_);
    while (!pending_.empty() && batch.size() < max_batch_) {
      Pending p = std::move(pending_.front());
      pending_.pop_front();
      (p.deadline <= now ? expired : batch).push_back(std::move(p));
    }
  }
  for (Pending& p : expired) {
    p.done(absl::DeadlineExceededError(
        "request deadline passed while waiting for a database connection"));
  }
  return batch;
}

void CallableLookupBatcher::Lookup(
    const std::string& mobile_number, absl::Time deadline,
    StoreCallback<std::vector<std::string>> done) {
  {
    absl::MutexLock lock(&mu_);
    pending_.push_back(Pending{mobile_number, deadline, std::move(done)});
  }
  // One carrier job per lookup keeps every worker available to lookups; a
  // carrier that finds the queue already drained by another does nothing.
  // The batch a carrier took lives here so that a failure answers it.
  auto taken = std::make_shared<std::vector<Pending>>();
  pool_.Submit(
      absl::InfiniteFuture(),  // deadlines are per lookup, checked in Take()
      [this, taken](pqxx::connection& c) {
        *taken = Take();
        if (taken->empty()) return;
        std::vector<std::string> numbers;
        for (const Pending& p : *taken) numbers.push_back(p.number);
        pqxx::nontransaction tx(c);
        pqxx::result r =
            tx.exec_prepared(sql::kListCallableDevices, PgTextArray(numbers));
        std::map<std::string, std::vector<std::string>> by_number;
        for (const auto& row : r) {
          by_number[row[0].as<std::string>()].push_back(
              row[1].as<std::string>());
        }
        std::vector<Pending> batch = std::move(*taken);
        taken->clear();
        for (Pending& p : batch) {
          auto it = by_number.find(p.number);
          p.done(it == by_number.end() ? std::vector<std::string>{}
                                       : it->second);
        }
      },
      [this, taken](absl::Status status) {
        std::vector<Pending> batch = std::move(*taken);
        taken->clear();
        // No connection (or the pool refused the carrier): fail what is
        // queued now rather than leave it waiting for a worker that will
        // fail the same way.
        if (batch.empty()) batch = Take();
        for (Pending& p : batch) p.done(status);
      });
}

}  // namespace callpush
