#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "collector/store/pg_connection.hpp"
#include "common/config/mqtt_settings.hpp"
#include "common/config/schema.hpp"
#include "common/daemon/log.hpp"

namespace streamtrack::collector {

struct AlertRuleConfig {
  std::string name;
  std::string rule;
  config::Section section;  // the whole validated [[alert]] table
};

struct CollectorConfig {
  std::string path;
  std::vector<std::string> files;               // path, then the drop-ins merged in (load_*_config)
  std::shared_ptr<const toml::table> document;  // keeps every Section valid

  std::string id;
  log::Level log_level = log::Level::info;
  log::Format log_format = log::Format::journal;
  std::chrono::milliseconds shutdown_timeout{};

  config::MqttSettings mqtt;
  std::string shared_group;  // empty: no shared subscription

  std::string postgres_dsn;
  std::optional<std::string> postgres_password;
  int pool_size = 2;
  std::chrono::milliseconds connect_timeout{};
  std::chrono::milliseconds statement_timeout{};
  std::chrono::milliseconds lock_timeout{};
  std::chrono::milliseconds keepalive_idle{};
  std::chrono::milliseconds keepalive_interval{};
  int keepalive_count = 3;
  std::chrono::milliseconds tcp_user_timeout{};

  std::int64_t batch_max_rows = 0;
  std::chrono::milliseconds batch_max_delay{};
  std::chrono::milliseconds batch_min_delay{};
  std::int64_t max_pending_rows = 0;
  std::int64_t max_pending_bytes = 0;

  std::chrono::milliseconds max_future{};         // accepted time window: see ingest::TimeWindow
  std::chrono::milliseconds live_min_interval{};  // live::LivePublisher

  int premake_months = 3;
  int retention_months = 0;
  std::chrono::milliseconds maintenance_interval{};
  std::chrono::milliseconds partition_lock_timeout{};
  std::int64_t rescue_chunk_rows = 10'000;
  std::string archive_dir;  // [partitions] archive_dir: "" drops months without an archive
  std::chrono::milliseconds rejects_retention{};        // [retention] ingest_rejects; 0 keeps
  std::chrono::milliseconds alert_history_retention{};  // [retention] alert_history; 0 keeps
  std::chrono::milliseconds analytics_refresh_interval{};
  std::chrono::milliseconds session_timeout{};

  std::string http_listen;

  // [homeassistant]: MQTT discovery (collector/homeassistant/).
  bool homeassistant_enabled = false;
  std::string homeassistant_prefix = "homeassistant";
  std::chrono::milliseconds homeassistant_forget_after{};

  std::chrono::milliseconds alert_forget_after{};
  std::vector<AlertRuleConfig> alerts;
};

const config::TableSpec& collector_root_spec();

// How every collector connection reaches PostgreSQL: dsn, password, every timeout and TCP
// keepalive of [postgres]; `purpose` ends the application_name ("writer", "alerts", ...).
store::ConnectOptions postgres_options(const CollectorConfig& c, const std::string& purpose);

// Loads and validates collector.toml, then collector.d/*.toml next to it
// (config::load_toml_with_dropins); throws config::ConfigError listing every problem.
CollectorConfig load_collector_config(const std::string& path);
CollectorConfig parse_collector_config(std::string_view text, const std::string& name);

// The commented configuration generated from the key declarations (`config example`).
std::string collector_config_example();

}  // namespace streamtrack::collector
