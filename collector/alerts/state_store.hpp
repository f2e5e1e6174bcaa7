#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "collector/alerts/alert.hpp"
#include "collector/store/lock_keys.hpp"
#include "common/util/result.hpp"

namespace streamtrack::collector::store {
struct ConnectOptions;  // collector/store/pg_connection.hpp: libpq stays behind store/
}

// Where alert state lives between runs, and who of several collectors notifies.
namespace streamtrack::collector::alerts {

class AlertStore {
 public:
  virtual ~AlertStore() = default;

  // True while this collector holds the notifier role (at most one collector at a time).
  // Failures to reach the store answer false with the reason.
  virtual Result<bool> try_lead() = 0;

  // The alerts still open (pending or firing), as last saved by any collector.
  virtual Result<std::vector<Alert>> load() = 0;

  // Applies changes in order, all or nothing: an open alert is inserted or updated, a resolved
  // one closed (its row stays as history), a pending one that never fired deleted.
  virtual Result<bool> save(const std::vector<Alert>& changes, const std::string& collector) = 0;

  // Rows in livestream_metrics_default (a cheap, capped count); failure means unreachable.
  virtual Result<std::int64_t> default_partition_rows() = 0;

  // How many of the monthly partitions for the month of `now` and the next do not exist (0
  // while partition maintenance works); failure means unreachable.
  virtual Result<std::int64_t> missing_partitions(TimePoint now) = 0;
};

// The PostgreSQL store: the `alerts` table (one row per episode, history kept) on a dedicated
// connection that also holds the notifier advisory lock. Connects lazily, reconnects after a
// failure; never throws.
std::unique_ptr<AlertStore> open_pg_alert_store(const store::ConnectOptions& options);

// The advisory lock key that elects the notifying collector.
inline constexpr std::int64_t k_notifier_lock = store::lock_keys::k_alert_notifier;

}  // namespace streamtrack::collector::alerts
