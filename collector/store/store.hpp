#pragma once

#include <string>
#include <vector>

#include "collector/ingest/item.hpp"

// The batch writer's only view of the database. PgStore is the real one; unit tests fake it.
namespace streamtrack::collector::store {

enum class WriteStatus {
  ok,        // the whole batch is committed
  retry,     // nothing committed; the database is unreachable or busy: try again later
  rejected,  // nothing committed; the database refused (some of) the rows themselves
};

struct WriteOutcome {
  WriteStatus status = WriteStatus::ok;
  std::string error;  // for retry and rejected: what the database said
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
