#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

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
  std::shared_ptr<const toml::table> document;  // keeps every Section valid

  std::string id;
  log::Level log_level = log::Level::info;
  std::chrono::milliseconds shutdown_timeout{};

  config::MqttSettings mqtt;
  std::string shared_group;  // empty: no shared subscription

  std::string postgres_dsn;
  std::optional<std::string> postgres_password;
  int pool_size = 2;
  std::chrono::milliseconds connect_timeout{};

  std::int64_t batch_max_rows = 0;
  std::chrono::milliseconds batch_max_delay{};
  std::int64_t max_pending_rows = 0;

  int premake_months = 3;
  int retention_months = 0;
  std::chrono::milliseconds maintenance_interval{};
  std::chrono::milliseconds analytics_refresh_interval{};
  std::chrono::milliseconds session_timeout{};

  std::string http_listen;

  std::vector<AlertRuleConfig> alerts;
};

const config::TableSpec& collector_root_spec();

// Loads and validates collector.toml; throws config::ConfigError listing every problem.
CollectorConfig load_collector_config(const std::string& path);
CollectorConfig parse_collector_config(std::string_view text, const std::string& name);

}  // namespace streamtrack::collector
