#pragma once

#include <memory>

#include "collector/alerts/service.hpp"
#include "collector/alerts/timed_store.hpp"
#include "collector/batch/batch_writer.hpp"
#include "collector/config/collector_config.hpp"
#include "collector/ingest/item.hpp"

// What the collector daemon calls: build the alerting from the config, feed it items.
namespace streamtrack::collector::alerts {

// The AlertService for `config` (state in its PostgreSQL, publishing through `publish`,
// collector counters from `counters` and `timer`, each state change to `on_transition`), or
// null when no [[alert]] is configured. Not started. Throws config::ConfigError (already
// reported by --check-config).
std::unique_ptr<AlertService> make_alerting(
    const CollectorConfig& config, const wire::Topics& topics, const Clock& clock,
    const batch::WriterCounters& counters, WriteTimer& timer, sinks::Publish publish,
    std::function<void(const std::string& rule, std::string_view state)> on_transition = {});

// Hands a decoded message to the engine (samples, statuses, healths; rejects are ignored).
void observe(AlertService& service, const ingest::Item& item);

}  // namespace streamtrack::collector::alerts
