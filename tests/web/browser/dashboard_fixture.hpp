#pragma once

// Browser tests of the dashboard (web/ui/) against the real streamtrack-web daemon, a real
// PostgreSQL with the collector's schema, and headless Chromium driven through chromedriver.
// Data enters through the real collector (MQTT → collector → PostgreSQL, from the collector's
// fixture) where the path matters (live updates), or as the rows the collector writes, by
// SQL, where volume or history matters (5,000 channels, past broadcasts).

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>

#include "tests/collector/integration/collector_fixture.hpp"
#include "tests/support/harness.hpp"
#include "tests/web/browser/webdriver.hpp"

namespace streamtrack::web::testing {

using namespace streamtrack::testing;
using collector::testing::CollectorTest;
using collector::testing::publish;

class DashboardTest : public CollectorTest {
 protected:
  void SetUp() override;
  void TearDown() override;

  // streamtrack-web on a free loopback port, serving <source>/web/ui; returns once it answers.
  void start_web();
  void stop_web();
  std::string url(const std::string& path = "/") const;

  // Rows as the collector writes them (the read side's triggers keep channel_current and
  // announce each committed metrics INSERT to the daemon).
  std::int64_t add_channel(const std::string& platform, const std::string& name);
  std::int64_t add_session(std::int64_t channel_id, const std::string& title,
                           const std::string& category, int started_minutes_ago, bool live);
  // One sample `minutes_ago` minutes before now (fractions allowed), committed on its own.
  void add_sample(std::int64_t session_id, double minutes_ago, int viewers, int chat,
                  double bitrate_kbps);
  // `n` channels named channel-00001.. with a live session and one sample each; channel k has
  // k * 7 viewers, so sorted by viewers the last row is channel-00001.
  void add_many_channels(int n);
  // A firing alert about `channel` on `platform`, as the collector's alert engine stores it.
  void add_alert(const std::string& rule, const std::string& severity, const std::string& platform,
                 const std::string& channel, const std::string& summary);

  std::string sql(const std::string& statement) const { return pg_scalar(m_dsn, statement); }

  // Saves a screenshot under <build>/screenshots/<name>.png.
  void screenshot(Browser& browser, const std::string& name);
  // Fails the test with the browser console when `expression` does not become truthy.
  void expect_page(Browser& browser, const std::string& expression,
                   std::chrono::milliseconds timeout = k_event_timeout);
  // Fails the test when the browser reported a Content-Security-Policy violation (or any
  // script error) since the last look at its console.
  void expect_clean_console(Browser& browser);

  TempDir m_web_dir{"streamtrack-web-browser"};
  std::string m_web_dsn;  // the daemon's: role streamtrack_web, read-only
  std::uint16_t m_port = 0;
  std::unique_ptr<Process> m_web;
  std::unique_ptr<ChromeDriver> m_driver;
  std::int64_t m_seq = 0;
};

// JavaScript string literal for `text` (JSON string syntax is valid JavaScript).
std::string js_string(const std::string& text);
// SQL string literal for `text` (standard_conforming_strings: only ' is doubled).
std::string sql_literal(const std::string& text);

}  // namespace streamtrack::web::testing
