#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config/schema.hpp"
#include "common/daemon/log.hpp"

// conf/web.toml, declared as data (web_root_spec()) like the other daemons' configs.
namespace streamtrack::web {

enum class AuthMode { none, token, basic };

struct WebConfig {
  std::string path;
  std::vector<std::string> files;  // path, then the drop-ins merged in (load_*_config)
  std::shared_ptr<const toml::table> document;

  log::Level log_level = log::Level::info;
  log::Format log_format = log::Format::journal;
  std::string listen;       // "127.0.0.1:8090"
  std::string ui_dir;       // the dashboard's static files
  std::string chartjs_dir;  // served under /vendor/chart.js/
  int io_threads = 2;
  int workers = 8;
  std::int64_t max_connections = 4096;
  std::chrono::milliseconds idle_timeout{};

  std::string postgres_dsn;
  std::optional<std::string> postgres_password;
  std::int64_t pool_max = 20;
  std::chrono::milliseconds pool_idle{};
  std::chrono::milliseconds connect_timeout{};
  std::chrono::milliseconds statement_timeout{};
  std::chrono::milliseconds acquire_timeout{};

  std::chrono::milliseconds stats_window{};
  std::int64_t max_page = 500;
  std::chrono::milliseconds raw_max_span{};
  std::int64_t max_points = 2000;

  std::int64_t ring_size = 10000;
  std::chrono::milliseconds keepalive{};
  std::int64_t max_live_clients = 10000;
  std::int64_t client_buffer_bytes = 16 << 20;

  AuthMode auth = AuthMode::none;
  std::optional<std::string> auth_token;  // mode token: the secret itself
  std::string htpasswd;                   // mode basic: the file's text ("user:<crypt hash>")
};

const config::TableSpec& web_root_spec();

// Loads and validates web.toml, then web.d/*.toml next to it; throws config::ConfigError listing
// every problem as "file:line:column: table: key: message".
WebConfig load_web_config(const std::string& path);
WebConfig parse_web_config(std::string_view text, const std::string& name);

// The commented configuration generated from the key declarations (`config example`).
std::string web_config_example();

}  // namespace streamtrack::web
