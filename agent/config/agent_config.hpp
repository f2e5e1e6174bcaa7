#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/config/mqtt_settings.hpp"
#include "common/config/schema.hpp"
#include "common/daemon/log.hpp"

namespace streamtrack::agent {

enum class DropPolicy { drop_oldest, drop_newest };
enum class Delivery { broker, committed };

struct SourceConfig {
  std::string type;
  std::string name;
  std::chrono::milliseconds interval{};
  std::chrono::milliseconds timeout{};
  std::int64_t max_body_bytes = 0;
  // The whole validated [[source]] table, for the type's own keys (see the registry).
  config::Section section;
};

struct AgentConfig {
  std::string path;
  std::vector<std::string> files;               // path, then the drop-ins merged in (load_*_config)
  std::shared_ptr<const toml::table> document;  // keeps every Section valid

  std::string id;
  std::string state_dir;
  log::Level log_level = log::Level::info;
  log::Format log_format = log::Format::journal;
  std::chrono::milliseconds shutdown_timeout{};

  config::MqttSettings mqtt;
  int max_inflight = 256;
  Delivery delivery = Delivery::committed;
  std::chrono::milliseconds ack_timeout{};
  std::size_t max_frame_samples = 1000;  // backlog frames; 0 or 1: every sample alone
  std::size_t max_frame_bytes = 262144;
  std::chrono::milliseconds health_interval{};

  std::int64_t buffer_max_rows = 0;
  std::int64_t buffer_max_bytes = 0;
  DropPolicy buffer_policy = DropPolicy::drop_oldest;

  std::string http_listen;  // empty: no HTTP endpoint

  std::vector<SourceConfig> sources;
};

// Root spec of agent.toml (tables [agent], [mqtt], [buffer], [http], [[source]]).
const config::TableSpec& agent_root_spec();

// Loads and validates agent.toml, then agent.d/*.toml next to it (config::load_toml_with_dropins);
// throws config::ConfigError listing every problem, each naming its file.
AgentConfig load_agent_config(const std::string& path);

// The commented configuration generated from the key declarations (`config example`).
std::string agent_config_example();

// The same, from text (`name` stands for the file name in messages).
AgentConfig parse_agent_config(std::string_view text, const std::string& name);

}  // namespace streamtrack::agent
