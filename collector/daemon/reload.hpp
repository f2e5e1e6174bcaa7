#pragma once

#include "collector/alerts/service.hpp"
#include "collector/batch/batch_writer.hpp"
#include "collector/config/collector_config.hpp"
#include "collector/ingest/ingest.hpp"
#include "common/status/metrics.hpp"

namespace streamtrack::collector::daemon {

// What a reload may change in the running collector. `alerting` is null when the collector
// started without [[alert]] (alerting then stays off until a restart).
struct Reloadable {
  ingest::IngestQueue& queue;
  batch::WriterSettings& writer_settings;
  status::CollectorMetrics& metrics;
  alerts::AlertService* alerting;
};

// SIGHUP: reads `running.path` again and applies the keys declared `reloads` (log settings,
// the queue's bounds, [batch], [alerting], [[alert]], [[alert_webhook]]); logs the changed keys
// that apply only on restart. A configuration that fails validation changes nothing (each
// problem is logged). The writers take the [batch] options from their next batch on; queued
// and taken rows stay. Sends RELOADING=1, then READY=1. Never throws.
void reload(const CollectorConfig& running, const Reloadable& parts);

}  // namespace streamtrack::collector::daemon
