#include "collector/daemon/reload.hpp"

#include <string>
#include <utility>

#include "collector/alerts/wiring.hpp"
#include "collector/daemon/options.hpp"
#include "collector/daemon/status_report.hpp"
#include "common/config/schema.hpp"
#include "common/daemon/log.hpp"
#include "common/daemon/notify.hpp"

namespace streamtrack::collector::daemon {

void reload(const CollectorConfig& running, const Reloadable& parts) {
  notify::reloading();
  try {
    const auto fresh = load_collector_config(running.path);
    auto alerting = alerts::read_alerting(fresh);
    log::set_level(fresh.log_level);
    log::set_format(fresh.log_format);
    parts.queue.set_limits(static_cast<std::size_t>(fresh.max_pending_rows),
                           static_cast<std::size_t>(fresh.max_pending_bytes));
    parts.writer_settings.update(writer_options(fresh), parts.queue);
    const auto rules = alerting.rules.size();
    const auto webhooks = alerting.webhooks.size();
    if (parts.alerting) {
      declare_alert_rules(parts.metrics, alerting.rules);
      parts.alerting->engine().set_forget_after(fresh.alert_forget_after);
      parts.alerting->reconfigure(std::move(alerting));
    } else if (rules > 0) {
      log::warning(
          "collector: [[alert]] rules apply on restart: this collector started "
          "without any, so its alerting is off");
    }
    log::notice("collector: reloaded files=" + std::to_string(fresh.files.size()) +
                " batch_max_rows=" + std::to_string(fresh.batch_max_rows) +
                " alert_rules=" + std::to_string(rules) + " webhooks=" + std::to_string(webhooks));
    std::string restart;
    for (const auto& k :
         config::restart_only_changes(collector_root_spec(), *running.document, *fresh.document)) {
      restart += (restart.empty() ? "" : ",") + k;
    }
    if (!restart.empty()) {
      log::warning("collector: changed settings apply on restart keys=" + restart);
    }
  } catch (const config::ConfigError& e) {
    for (const auto& m : e.messages()) log::error("collector: reload refused: " + m);
    log::error("collector: reload refused, the running configuration stays");
  }
  notify::ready();
}

}  // namespace streamtrack::collector::daemon
