#pragma once

#include <string>
#include <vector>

#include "collector/ingest/item.hpp"
#include "common/util/outcome.hpp"

// The batch writer's only view of the database. PgStore is the real one; unit tests fake it.
namespace streamtrack::collector::store {

// How one write ended: ok, the whole batch is committed; retry, nothing committed, the
// database is unreachable or busy (try again later); error, nothing committed, the database
// refused (some of) the rows themselves.
struct WriteOutcome {
  Outcome status = Outcome::ok;
  std::string error;  // for retry and error: what the database said
};

class Store {
 public:
  virtual ~Store() = default;
  // Writes every item of `batch` in one transaction, all or nothing: samples into
  // livestream_metrics (a resent sample is ignored) with their sessions, statuses and healths
  // into agents, rejects into ingest_rejects. Never throws.
  virtual WriteOutcome write(const std::vector<ingest::Item>& batch) = 0;
};

}  // namespace streamtrack::collector::store
