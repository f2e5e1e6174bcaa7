#include "collector/config/collector_config.hpp"

#include <algorithm>
#include <set>

#include "collector/alerts/rule.hpp"
#include "collector/config/collector_spec.hpp"
#include "common/config/config_file.hpp"
#include "common/config/log_settings.hpp"
#include "common/config/toml_file.hpp"
#include "common/util/host.hpp"
#include "common/wire/topics.hpp"

namespace streamtrack::collector {

namespace {

void read_collector_config(CollectorConfig& c, const config::Section& root,
                           config::Diagnostics& diag) {
  const auto collector = root.table("collector");
  c.id = collector.optional_string("id").value_or(host_name("collector"));
  config::read_log_settings(collector, c.log_level, c.log_format);
  c.shutdown_timeout = collector.duration("shutdown_timeout");

  const auto mqtt = root.table("mqtt");
  c.mqtt = config::read_mqtt_settings(mqtt, diag);
  c.shared_group = mqtt.string("shared_group");
  if (c.shared_group.find_first_of("/+#") != std::string::npos) {
    diag.error(mqtt.position("shared_group"), "mqtt", "shared_group",
               "must not contain '/', '+' or '#'");
  }

  const auto pg = root.table("postgres");
  c.postgres_dsn = pg.string("dsn");
  c.postgres_password = config::read_secret(pg, "password_file", "postgres-password", diag);
  c.pool_size = static_cast<int>(pg.integer("pool_size"));
  c.connect_timeout = pg.duration("connect_timeout");
  c.statement_timeout = pg.duration("statement_timeout");
  c.lock_timeout = pg.duration("lock_timeout");
  c.keepalive_idle = pg.duration("keepalive_idle");
  c.keepalive_interval = pg.duration("keepalive_interval");
  c.keepalive_count = static_cast<int>(pg.integer("keepalive_count"));
  c.tcp_user_timeout = pg.duration("tcp_user_timeout");

  const auto batch = root.table("batch");
  c.batch_max_rows = batch.integer("max_rows");
  c.batch_max_delay = batch.duration("max_delay");
  // The default yields to a shorter max_delay (a configuration from before min_delay existed);
  // a min_delay set beyond max_delay is an error.
  c.batch_min_delay = std::min(batch.duration("min_delay"), c.batch_max_delay);
  if (batch.has("min_delay") && batch.duration("min_delay") > c.batch_max_delay) {
    diag.error(batch.position("min_delay"), "batch", "min_delay",
               "must be at most max_delay (" + std::to_string(c.batch_max_delay.count()) + " ms)");
  }
  c.max_pending_rows = batch.integer("max_pending_rows");
  c.max_pending_bytes = batch.integer("max_pending_bytes");
  if (c.max_pending_rows < c.batch_max_rows) {
    diag.error(batch.position("max_pending_rows"), "batch", "max_pending_rows",
               "must be at least max_rows (" + std::to_string(c.batch_max_rows) + ")");
  }

  const auto partitions = root.table("partitions");
  c.premake_months = static_cast<int>(partitions.integer("premake_months"));
  c.retention_months = static_cast<int>(partitions.integer("retention_months"));
  c.maintenance_interval = partitions.duration("maintenance_interval");
  c.partition_lock_timeout = partitions.duration("lock_timeout");
  c.rescue_chunk_rows = partitions.integer("rescue_chunk_rows");
  c.archive_dir = partitions.string("archive_dir");
  if (!c.archive_dir.empty() && c.archive_dir.front() != '/') {
    diag.error(partitions.position("archive_dir"), "partitions", "archive_dir",
               "must be an absolute path or \"\"");
  }
  const auto retention = root.table("retention");
  c.rejects_retention = retention.duration("ingest_rejects");
  c.alert_history_retention = retention.duration("alert_history");
  c.max_future = root.table("ingest").duration("max_future");
  c.live_min_interval = root.table("live").duration("min_interval");
  c.analytics_refresh_interval = root.table("analytics").duration("refresh_interval");
  c.session_timeout = root.table("sessions").duration("offline_timeout");
  c.http_listen = root.table("http").string("listen");
  const auto ha = root.table("homeassistant");
  c.homeassistant_enabled = ha.boolean("enabled");
  c.homeassistant_prefix = ha.string("prefix");
  c.homeassistant_forget_after = ha.duration("forget_after");
  if (const auto why = wire::check_topic_root(c.homeassistant_prefix)) {
    diag.error(ha.position("prefix"), "homeassistant", "prefix", *why);
  }
  c.alert_forget_after = root.table("alerting").duration("forget_after");

  std::set<std::string> names;
  const auto tables = root.table_array("alert");
  for (std::size_t i = 0; i < tables.size(); ++i) {
    const auto* name_node = tables[i]->get_as<std::string>("name");
    const std::string context =
        name_node ? "alert \"" + name_node->get() + "\"" : "alert #" + std::to_string(i + 1);
    auto section = config::validate(*tables[i], alert_rule_spec(), context, diag);
    AlertRuleConfig a{section.string("name"), section.string("rule"), section};
    if (!names.insert(a.name).second) {
      diag.error(section.position("name"), context, "name",
                 "another alert already has the name \"" + a.name + "\"");
    }
    c.alerts.push_back(std::move(a));
  }
  alerts::read_alerting(c, diag);  // rule-specific checks and [[alert_webhook]]
}

}  // namespace

store::ConnectOptions postgres_options(const CollectorConfig& c, const std::string& purpose) {
  store::ConnectOptions o;
  o.dsn = c.postgres_dsn;
  o.password = c.postgres_password;
  o.connect_timeout = c.connect_timeout;
  o.application_name = "streamtrack-collector " + c.id + (purpose.empty() ? "" : " " + purpose);
  o.statement_timeout = c.statement_timeout;
  o.lock_timeout = c.lock_timeout;
  o.keepalive_idle = c.keepalive_idle;
  o.keepalive_interval = c.keepalive_interval;
  o.keepalive_count = c.keepalive_count;
  o.tcp_user_timeout = c.tcp_user_timeout;
  return o;
}

CollectorConfig parse_collector_config(std::string_view text, const std::string& name) {
  return config::parse_config<CollectorConfig>(text, name, collector_root_spec(),
                                               &read_collector_config);
}

CollectorConfig load_collector_config(const std::string& path) {
  return config::load_config<CollectorConfig>(path, "collector.d", collector_root_spec(),
                                              &read_collector_config);
}

}  // namespace streamtrack::collector
