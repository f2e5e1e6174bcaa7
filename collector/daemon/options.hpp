#pragma once

#include "collector/batch/batch_writer.hpp"
#include "collector/config/collector_config.hpp"
#include "collector/partitions/partition_manager.hpp"
#include "collector/store/pg_connection.hpp"

// What the daemon's parts take from collector.toml, each in one place.
namespace streamtrack::collector::daemon {

// The [batch] options of the writers (retry bounds stay at their defaults).
batch::WriterOptions writer_options(const CollectorConfig& c);

// The [partitions] options of a maintenance round running `steps`.
partitions::MaintenanceOptions partition_options(
    const CollectorConfig& c,
    partitions::MaintenanceOptions::Steps steps = partitions::MaintenanceOptions::Steps::all);

// The maintenance connection: the [postgres] settings with the short lock_timeout of
// [partitions], so that DDL never queues writers behind it for longer.
store::ConnectOptions maintenance_options(const CollectorConfig& c);

}  // namespace streamtrack::collector::daemon
