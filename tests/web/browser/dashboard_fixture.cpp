#include "tests/web/browser/dashboard_fixture.hpp"

#include <nlohmann/json.hpp>
#include <regex>

#include "collector/store/migrations.hpp"
#include "collector/store/pg_connection.hpp"
#include "tests/support/http_client.hpp"

#ifndef STREAMTRACK_SCREENSHOT_DIR
#error "STREAMTRACK_SCREENSHOT_DIR must name the directory for screenshots"
#endif

namespace streamtrack::web::testing {

void DashboardTest::SetUp() {
  CollectorTest::SetUp();
  collector::store::ConnectOptions options;
  options.dsn = m_dsn;
  collector::store::PgConnection conn(options);
  collector::store::apply_migrations(conn);
  // The daemon reads as a role that cannot write, as in production (docs/api.md).
  pg_query(m_dsn, "CREATE ROLE streamtrack_web LOGIN; GRANT pg_read_all_data TO streamtrack_web");
  m_web_dsn = std::regex_replace(m_dsn, std::regex("user=postgres"), "user=streamtrack_web");
  m_port = free_port();
  m_driver = std::make_unique<ChromeDriver>();
}

void DashboardTest::TearDown() {
  if (HasFailure() && m_web) std::cerr << "streamtrack-web output:\n" << m_web->output() << "\n";
  m_driver.reset();
  m_web.reset();
}

void DashboardTest::start_web() {
  const auto config = m_web_dir / "web.toml";
  write_file(config,
             "[web]\nlisten = \"127.0.0.1:" + std::to_string(m_port) + "\"\nui_dir = \"" +
                 (source_dir() / "web" / "ui").string() +
                 "\"\nchartjs_dir = \"/usr/share/javascript/chart.js\"\nlog_level = \"debug\"\n"
                 "[postgres]\ndsn = \"" +
                 m_web_dsn + "\"\n");
  Process::Options o;
  o.argv = {(bin_dir() / "streamtrack-web").string(), "-c", config.string()};
  o.log_file = m_web_dir / "web.log";
  m_web = std::make_unique<Process>(o);
  const bool up = wait_until([&] { return http_request(url("/readyz")).status == 200; });
  ASSERT_TRUE(up) << "streamtrack-web did not become ready:\n" << m_web->output();
}

void DashboardTest::stop_web() {
  ASSERT_TRUE(m_web);
  m_web->stop();
  ASSERT_FALSE(port_accepts(m_port));
}

std::string DashboardTest::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(m_port) + path;
}

std::int64_t DashboardTest::add_channel(const std::string& platform, const std::string& name) {
  return std::stoll(sql("INSERT INTO channels (platform, name) VALUES (" + sql_literal(platform) +
                        ", " + sql_literal(name) + ") RETURNING id"));
}

std::int64_t DashboardTest::add_session(std::int64_t channel_id, const std::string& title,
                                        const std::string& category, int started_minutes_ago,
                                        bool live) {
  const std::string started =
      "now() - interval '" + std::to_string(started_minutes_ago) + " minutes'";
  return std::stoll(
      sql("INSERT INTO livestreams (channel_id, session_key, started_at, ended_at, last_sample_at, "
          "title, category, is_active) VALUES (" +
          std::to_string(channel_id) + ", 'start:' || (" + started + ")::text, " + started + ", " +
          (live ? "NULL" : "now()") + ", " + started + ", " + sql_literal(title) + ", " +
          sql_literal(category) + ", " + (live ? "true" : "false") + ") RETURNING id"));
}

void DashboardTest::add_sample(std::int64_t session_id, double minutes_ago, int viewers, int chat,
                               double bitrate_kbps) {
  const std::string ts = "now() - interval '" + std::to_string(minutes_ago * 60.0) + " seconds'";
  sql("INSERT INTO livestream_metrics (livestream_id, \"timestamp\", viewer_count, chat_messages, "
      "chatters, bitrate_kbps, agent_id, seq) VALUES (" +
      std::to_string(session_id) + ", " + ts + ", " + std::to_string(viewers) + ", " +
      std::to_string(chat) + ", 1, " + std::to_string(bitrate_kbps) + ", 'browser-test', " +
      std::to_string(++m_seq) + ") RETURNING 1");
  sql("UPDATE livestreams SET last_sample_at = greatest(last_sample_at, " + ts +
      "), peak_viewers = greatest(coalesce(peak_viewers, 0), " + std::to_string(viewers) +
      ") WHERE id = " + std::to_string(session_id) + " RETURNING 1");
}

void DashboardTest::add_many_channels(int n) {
  const auto count = std::to_string(n);
  sql("INSERT INTO channels (platform, name) SELECT 'nginx_rtmp', 'channel-' || lpad(k::text, 5, "
      "'0') "
      "FROM generate_series(1, " +
      count + ") k RETURNING 1");
  sql("INSERT INTO livestreams (channel_id, session_key, started_at, last_sample_at, title, "
      "category, is_active) SELECT id, 'start:bulk', now() - interval '1 hour', now(), "
      "'Bulk stream ' || id, 'Testing', true FROM channels WHERE name LIKE 'channel-%' RETURNING "
      "1");
  sql("INSERT INTO livestream_metrics (livestream_id, \"timestamp\", viewer_count, chat_messages, "
      "chatters, bitrate_kbps, agent_id, seq) SELECT l.id, now() - interval '5 seconds', "
      "substr(c.name, 9)::int * 7, 3, 1, 4500, 'bulk', l.id FROM livestreams l "
      "JOIN channels c ON c.id = l.channel_id WHERE c.name LIKE 'channel-%' RETURNING 1");
}

void DashboardTest::add_alert(const std::string& rule, const std::string& severity,
                              const std::string& platform, const std::string& channel,
                              const std::string& summary) {
  const auto labels = nlohmann::json{{"platform", platform}, {"channel", channel}}.dump();
  sql("INSERT INTO alerts (rule, alert_key, key_parts, state, severity, labels, summary, "
      "active_since, fired_at, collector) VALUES (" +
      sql_literal(rule) + ", " + sql_literal(platform + "/" + channel) + ", '{}', 'firing', " +
      sql_literal(severity) + ", " + sql_literal(labels) + ", " + sql_literal(summary) +
      ", now() - interval '12 minutes', now() - interval '10 minutes', 'c1') RETURNING 1");
}

void DashboardTest::screenshot(Browser& browser, const std::string& name) {
  const std::filesystem::path dir = STREAMTRACK_SCREENSHOT_DIR;
  browser.screenshot(dir / (name + ".png"));
}

void DashboardTest::expect_page(Browser& browser, const std::string& expression,
                                std::chrono::milliseconds timeout) {
  EXPECT_TRUE(browser.wait_for(expression, timeout))
      << "page never satisfied: " << expression << "\nbrowser console:\n"
      << browser.console_log();
}

void DashboardTest::expect_clean_console(Browser& browser) {
  const auto log = browser.console_log();
  EXPECT_EQ(log.find("Content Security Policy"), std::string::npos) << log;
  EXPECT_EQ(log.find("Uncaught"), std::string::npos) << log;
}

std::string js_string(const std::string& text) {
  return nlohmann::json(text).dump();
}

std::string sql_literal(const std::string& text) {
  std::string out = "'";
  for (const char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

}  // namespace streamtrack::web::testing
