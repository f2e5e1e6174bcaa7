#pragma once

// Shared by the web benchmarks: a real PostgreSQL with the collector's schema (migrations
// applied by the collector's own code), bulk data, the read-only role, and the real
// streamtrack-web binary on a free loopback port.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <regex>
#include <string>

#include "collector/store/migrations.hpp"
#include "collector/store/pg_connection.hpp"
#include "tests/support/harness.hpp"

namespace streamtrack::bench {

using namespace streamtrack::testing;
using Steady = std::chrono::steady_clock;

inline double seconds_since(Steady::time_point t) {
  return std::chrono::duration<double>(Steady::now() - t).count();
}

inline std::filesystem::path web_binary() {
  if (const char* dir = std::getenv("STREAMTRACK_BIN_DIR")) {
    return std::filesystem::path(dir) / "streamtrack-web";
  }
  return std::filesystem::canonical("/proc/self/exe").parent_path().parent_path() / "bin" /
         "streamtrack-web";
}

// Applies every migration and creates the read-only role.
inline void prepare_schema(const std::string& dsn) {
  collector::store::ConnectOptions o;
  o.dsn = dsn;
  collector::store::PgConnection conn(o);
  collector::store::apply_migrations(conn);
  conn.exec("CREATE ROLE streamtrack_web LOGIN");
  conn.exec("GRANT pg_read_all_data TO streamtrack_web");
}

inline std::string readonly(const std::string& dsn) {
  return std::regex_replace(dsn, std::regex("user=postgres"), "user=streamtrack_web");
}

struct WebDaemon {
  std::unique_ptr<Process> process;
  std::uint16_t port = 0;
};

inline WebDaemon start_web(const TempDir& dir, const std::string& dsn, const std::string& extra) {
  write_file(dir / "ui-index.html", "<!doctype html>\n");
  write_file(dir / "web.toml", "[web]\nlisten = \"127.0.0.1:0\"\nui_dir = \"" +
                                   dir.path().string() + "\"\n[postgres]\ndsn = \"" +
                                   readonly(dsn) + "\"\n" + extra);
  WebDaemon d;
  Process::Options options;
  options.argv = {web_binary().string(), "-c", (dir / "web.toml").string()};
  options.log_file = dir / "web.log";
  d.process = std::make_unique<Process>(options);
  if (!d.process->wait_for_output("web: ready")) {
    throw std::runtime_error("web daemon did not start: " + d.process->output());
  }
  std::smatch m;
  const auto out = d.process->output();
  if (std::regex_search(out, m, std::regex("port=(\\d+)"))) {
    d.port = static_cast<std::uint16_t>(std::stoi(m[1]));
  }
  return d;
}

// "VmRSS" or "Threads" from /proc/<pid>/status (kB for sizes).
inline std::int64_t proc_status(pid_t pid, const std::string& key) {
  const auto text = read_file("/proc/" + std::to_string(pid) + "/status");
  std::smatch m;
  if (std::regex_search(text, m, std::regex(key + ":\\s+(\\d+)"))) return std::stoll(m[1]);
  return -1;
}

}  // namespace streamtrack::bench
