#pragma once

#include <functional>
#include <memory>
#include <mutex>

#include "collector/config/collector_config.hpp"
#include "collector/daemon/database_health.hpp"
#include "collector/daemon/worker_thread.hpp"
#include "collector/partitions/partition_manager.hpp"
#include "collector/store/pg_connection.hpp"
#include "common/util/time.hpp"

// The collector's database work beside ingest: each worker on its own connection and thread,
// so that no DDL or slow statement delays the main loop (which pings the watchdog) or the
// writers.
namespace streamtrack::collector::daemon {

// Logs what a partition maintenance round did, one line per event.
void log_partitions(const partitions::MaintenanceReport& r);

// A worker's own PostgreSQL connection (maintenance_options()), opened when first needed and
// again after it broke. get() and drop_if_broken() on the worker's thread; cancel() from any.
class WorkerConnection {
 public:
  explicit WorkerConnection(const CollectorConfig& config) : m_config(config) {}

  // The connection, opened when there is none or it broke; throws store::PgError.
  store::PgConnection& get();
  // After a store::PgError: forgets a connection that broke (or never opened); true then.
  bool drop_if_broken();
  // Cancels the statement running on the connection, if any.
  void cancel();

 private:
  const CollectorConfig& m_config;
  std::mutex m_mutex;  // the pointer, which cancel() reads from another thread
  std::unique_ptr<store::PgConnection> m_conn;
};

// What each worker is made of: the configuration, the clock, the DatabaseHealth it reports to,
// its own connection and its thread. A worker starts the thread at the end of its constructor
// and stops it in its destructor, before anything the thread uses goes.
class DatabaseWorker {
 public:
  DatabaseWorker(const DatabaseWorker&) = delete;
  DatabaseWorker& operator=(const DatabaseWorker&) = delete;

 protected:
  DatabaseWorker(const CollectorConfig& config, const Clock& clock, DatabaseHealth& health)
      : m_config(config), m_clock(clock), m_health(health), m_conn(config) {}
  ~DatabaseWorker() = default;

  const CollectorConfig& m_config;
  const Clock& m_clock;
  DatabaseHealth& m_health;
  WorkerConnection m_conn;
  WorkerThread m_thread;
};

// Schema, partitions, sessions, history retention and analytics. Until the schema is applied
// it retries with backoff (then sets DatabaseHealth::set_schema_ready, and ingest may start);
// afterwards each task runs on its timer, and a failure is logged and retried on the next
// round. Reports reachability to DatabaseHealth.
class MaintenanceWorker : private DatabaseWorker {
 public:
  MaintenanceWorker(const CollectorConfig& config, const Clock& clock, DatabaseHealth& health)
      : DatabaseWorker(config, clock, health) {
    m_thread.start([this] { run(); });
  }
  ~MaintenanceWorker() { stop(); }

  // Stops the worker after a last analytics refresh; returns once its thread ended.
  void stop() { m_thread.stop(); }

 private:
  void run();
  bool prepare();
  bool task(const char* what, const std::function<void(store::PgConnection&)>& body);
};

// Retention of expired months (archiving and dropping them), a round every
// maintenance_interval once the schema is applied: copying a month may take long, and must
// hold back neither ingest nor the other maintenance tasks.
class RetentionWorker : private DatabaseWorker {
 public:
  RetentionWorker(const CollectorConfig& config, const Clock& clock, DatabaseHealth& health)
      : DatabaseWorker(config, clock, health) {
    m_thread.start([this] { run(); });
  }
  ~RetentionWorker() { stop(); }

  // Cancels the statement running and returns within about a second, once the thread ended.
  void stop() {
    m_thread.stop([this] { m_conn.cancel(); });
  }

 private:
  void run();
};

}  // namespace streamtrack::collector::daemon
