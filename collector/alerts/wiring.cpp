#include "collector/alerts/wiring.hpp"

#include "common/daemon/log.hpp"

namespace streamtrack::collector::alerts {

std::unique_ptr<AlertService> make_alerting(
    const CollectorConfig& config, const wire::Topics& topics, const Clock& clock,
    const batch::WriterCounters& counters, WriteTimer& timer, sinks::Publish publish,
    std::function<void(const std::string& rule, std::string_view state)> on_transition) {
  auto alerting = read_alerting(config);
  if (alerting.rules.empty()) return nullptr;
  const auto o = postgres_options(config, "alerts");
  ServiceOptions options;
  options.collector_id = config.id;
  options.on_transition = std::move(on_transition);
  options.observe_collector = [&counters, &timer] {
    CollectorObservation c;
    c.samples = counters.samples.load();
    c.rejects = counters.rejects.load();
    c.write_latency_s = timer.take();
    return c;
  };
  log::info("alerts: rules=" + std::to_string(alerting.rules.size()) +
            " webhooks=" + std::to_string(alerting.webhooks.size()));
  auto service =
      std::make_unique<AlertService>(std::move(alerting), std::move(options),
                                     open_pg_alert_store(o), std::move(publish), topics, clock);
  service->engine().set_forget_after(config.alert_forget_after);
  return service;
}

void observe(AlertService& service, const ingest::Item& item) {
  auto& engine = service.engine();
  switch (item.kind) {
    case ingest::Item::Kind::sample:
      if (item.sample) engine.observe_sample(*item.sample, item.received_at);
      break;
    case ingest::Item::Kind::status:
      if (item.status) engine.observe_status(item.agent, *item.status, item.received_at);
      break;
    case ingest::Item::Kind::health:
      if (item.health) engine.observe_health(item.agent, *item.health, item.received_at);
      break;
    case ingest::Item::Kind::reject:
      break;
  }
}

}  // namespace streamtrack::collector::alerts
