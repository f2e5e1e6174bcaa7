#include "collector/daemon/options.hpp"

namespace streamtrack::collector::daemon {

batch::WriterOptions writer_options(const CollectorConfig& c) {
  batch::WriterOptions o;
  o.max_rows = static_cast<std::size_t>(c.batch_max_rows);
  o.max_delay = c.batch_max_delay;
  o.min_delay = c.batch_min_delay;
  return o;
}

partitions::MaintenanceOptions partition_options(const CollectorConfig& c,
                                                 partitions::MaintenanceOptions::Steps steps) {
  partitions::MaintenanceOptions o{c.premake_months, c.retention_months, c.rescue_chunk_rows,
                                   c.archive_dir};
  o.steps = steps;
  return o;
}

store::ConnectOptions maintenance_options(const CollectorConfig& c) {
  auto o = postgres_options(c, "maintenance");
  o.lock_timeout = c.partition_lock_timeout;
  return o;
}

}  // namespace streamtrack::collector::daemon
