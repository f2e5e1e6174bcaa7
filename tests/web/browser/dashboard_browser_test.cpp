// The dashboard in a real headless Chromium, against the real streamtrack-web daemon and a
// real PostgreSQL. Each test leaves a screenshot of what it checked under
// <build>/screenshots/.

#include <algorithm>
#include <regex>

#include "tests/support/http_client.hpp"
#include "tests/web/browser/dashboard_fixture.hpp"

namespace streamtrack::web::testing {
namespace {

constexpr const char* k_row_count = "document.querySelectorAll('.channel-row').length";
// The names in the rows on screen, top to bottom.
constexpr const char* k_visible_names =
    "[...document.querySelectorAll('.channel-row:not([hidden])')]"
    ".sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top)"
    ".map(r => r.querySelector('.name').textContent)";

TEST_F(DashboardTest, OverviewShowsTotalsAndChannelsAndAgents) {
  const auto first = add_channel("nginx_rtmp", "studio-a");
  const auto second = add_channel("owncast", "late-night-radio");
  add_channel("twitch", "sleeping-channel");
  const auto s1 =
      add_session(first, "Building a synth from scratch", "Science & Technology", 90, true);
  const auto s2 = add_session(second, "Vinyl only", "Music", 30, true);
  for (int i = 10; i >= 1; --i) {
    add_sample(s1, i * 0.5, 1000 + i * 10, 40, 4500);
    add_sample(s2, i * 0.5, 200 + i, 5, 2500);
  }
  sql("INSERT INTO agents (agent_id, state, version, sources, last_seen_at, health, health_at, "
      "status_reason) VALUES "
      "('rig-1', 'online', '0.1.0', 3, now(), "
      "'{\"buffer\":{\"depth\":12,\"oldest_unsent_age_s\":4}}', now(), NULL), "
      "('rig-2', 'online', '0.1.0', 1, now(), "
      "'{\"buffer\":{\"depth\":5321,\"oldest_unsent_age_s\":3600}}', now(), NULL), "
      "('rig-3', 'offline', '0.1.0', 2, now() - interval '2 hours', NULL, NULL, 'shutdown') "
      "RETURNING 1");
  add_alert("viewers_drop", "warning", "owncast", "late-night-radio",
            "Viewers fell by 60 % within 5 minutes");
  ASSERT_NO_FATAL_FAILURE(start_web());

  Browser browser(*m_driver);
  browser.navigate(url("/#/"));
  expect_page(browser, "document.getElementById('channel-list').dataset.items === '3'");
  expect_page(
      browser,
      "document.querySelector('[data-tile=live_channels] .tile-value').textContent === '2'");
  // Sorted by viewers, most watched first, with the figures of the newest sample.
  const auto names = browser.execute("return " + std::string(k_visible_names) + ";");
  ASSERT_EQ(names.size(), 3u) << names.dump();
  EXPECT_EQ(names[0], "studio-a");
  EXPECT_EQ(names[1], "late-night-radio");
  EXPECT_EQ(names[2], "sleeping-channel");
  const auto viewers =
      browser.execute("return document.querySelector(`.channel-row[data-channel-id='" +
                      std::to_string(first) + "'] .col-viewers`).textContent;");
  EXPECT_EQ(viewers, "1,010");

  // Live: a committed sample changes the figures in place (the same row element, new text)
  // and the totals follow from the stream's stats events.
  const std::string row =
      "document.querySelector(`.channel-row[data-channel-id='" + std::to_string(first) + "']`)";
  expect_page(browser, "document.getElementById('connection').dataset.state === 'live'");
  browser.execute(row + ".__seen_before = true;");
  add_sample(s1, 0, 5555, 40, 4500);
  expect_page(browser, row + ".querySelector('.col-viewers').textContent === '5,555'");
  EXPECT_TRUE(browser.execute("return " + row + ".__seen_before === true;").get<bool>());
  // The column header turns the order around (unknown figures stay last).
  browser.execute("document.querySelector('.list-columns .col-viewers button').click();");
  expect_page(browser, std::string(k_visible_names) +
                           ".join() === 'late-night-radio,studio-a,sleeping-channel'");
  browser.execute("document.querySelector('.list-columns .col-viewers button').click();");
  expect_page(browser, std::string(k_visible_names) + "[0] === 'studio-a'");
  expect_page(browser,
              "document.querySelector('[data-tile=open_alerts] .tile-value').textContent === '1'");
  screenshot(browser, "overview");
  expect_clean_console(browser);

  // Dark (prefers-color-scheme) and a phone's width: nothing runs off the side.
  browser.cdp("Emulation.setEmulatedMedia",
              {{"features", {{{"name", "prefers-color-scheme"}, {"value", "dark"}}}}});
  EXPECT_EQ(browser.execute("return getComputedStyle(document.body).backgroundColor;"),
            "rgb(16, 19, 25)");
  screenshot(browser, "overview-dark");
  browser.cdp("Emulation.setDeviceMetricsOverride",
              {{"width", 390}, {"height", 844}, {"deviceScaleFactor", 2}, {"mobile", true}});
  expect_page(browser, "window.innerWidth === 390");
  expect_page(browser, "document.documentElement.scrollWidth <= window.innerWidth");
  expect_page(browser, std::string(k_visible_names) + "[0] === 'studio-a'");
  screenshot(browser, "overview-phone");
  browser.cdp("Emulation.clearDeviceMetricsOverride");
  browser.cdp("Emulation.setEmulatedMedia", {{"features", nlohmann::json::array()}});

  browser.navigate(url("/#/agents"));
  expect_page(browser, "document.querySelector('#agent-table [data-agent-id=rig-1]') !== null");
  expect_page(browser, "document.querySelectorAll('.alert-item').length === 1");
  // Buffer depth and the age of the oldest unsent sample; an old one is marked.
  const auto cells = browser.execute(
      "return [...document.querySelectorAll('#agent-table tbody tr')].map(r => "
      "[r.dataset.agentId, r.cells[2].textContent, r.cells[3].textContent, "
      "r.cells[3].classList.contains('warn-text')]);");
  EXPECT_EQ(cells.dump(), R"([["rig-1","12","4 s",false],["rig-2","5,321","1 h 00 min",true],)"
                          R"(["rig-3","—","none",false]])");
  screenshot(browser, "agents");
  browser.navigate(url("/#/alerts"));
  expect_page(browser,
              "document.getElementById('view').dataset.page === 'alerts' && "
              "document.getElementById('view').dataset.ready === 'true'");
  expect_page(browser,
              "document.querySelector('.alert-item .alert-rule')?.textContent === 'viewers_drop'");
  EXPECT_EQ(browser.execute("return document.querySelector('h1').textContent;"), "Alerts");
  screenshot(browser, "alerts");
  expect_clean_console(browser);
}

// The totals follow the overview stream's stats events: a commit moves "Viewers now" within a
// few stats windows (5 s), well before the page's own 60 s refresh of the totals. The sample
// commits right after the page fetched the stats, inside the daemon's stats cache window.
TEST_F(DashboardTest, OverviewTotalsFollowTheStreamsStatsEvents) {
  const auto channel = add_channel("nginx_rtmp", "studio-a");
  const auto session = add_session(channel, "Totals drill", "Testing", 10, true);
  add_sample(session, 1, 100, 4, 4000);
  ASSERT_NO_FATAL_FAILURE(start_web());

  Browser browser(*m_driver);
  browser.navigate(url("/#/"));
  expect_page(
      browser,
      "document.querySelector('[data-tile=viewers_now] .tile-value').textContent === '100'");
  expect_page(browser, "document.getElementById('connection').dataset.state === 'live'");
  add_sample(session, 0, 250, 4, 4000);
  expect_page(browser, "document.querySelector(`.channel-row[data-channel-id='" +
                           std::to_string(channel) + "'] .col-viewers`).textContent === '250'");
  expect_page(browser,
              "document.querySelector('[data-tile=viewers_now] .tile-value').textContent === '250'",
              30s);
}

TEST_F(DashboardTest, FiveThousandChannelsKeepFewRowsInTheDomAndScrollingReachesTheLast) {
  add_many_channels(5000);
  ASSERT_NO_FATAL_FAILURE(start_web());

  Browser browser(*m_driver);
  browser.navigate(url("/#/"));
  expect_page(browser, "document.getElementById('channel-list').dataset.items === '5000'");
  expect_page(browser, std::string(k_row_count) + " > 0");
  EXPECT_EQ(browser.execute("return document.querySelector('.channel-row .name').textContent;"),
            "channel-05000");
  screenshot(browser, "overview-5000");

  // Scroll down in steps, as a person flicking through would; the DOM stays small throughout.
  int most_rows = 0;
  const int scroll_height =
      browser.execute("return document.getElementById('channel-list').scrollHeight;").get<int>();
  EXPECT_GE(scroll_height, 5000 * 44);
  for (int top = 0; top <= scroll_height; top += 9000) {
    browser.execute("document.getElementById('channel-list').scrollTop = arguments[0];", {top});
    // Each scroll position must show its own rows before counting.
    const std::string expected_name = [&] {
      const int index = top / 44;
      char name[32];
      std::snprintf(name, sizeof name, "channel-%05d", 5000 - std::min(index, 4999));
      return std::string(name);
    }();
    expect_page(browser,
                "[...document.querySelectorAll('.channel-row:not([hidden]) .name')]"
                ".some(n => n.textContent === " +
                    js_string(expected_name) + ")");
    most_rows =
        std::max(most_rows, browser.execute("return " + std::string(k_row_count)).get<int>());
  }
  browser.execute(
      "const v = document.getElementById('channel-list'); v.scrollTop = v.scrollHeight;");
  expect_page(browser,
              "(() => { const v = document.getElementById('channel-list').getBoundingClientRect();"
              " const row = [...document.querySelectorAll('.channel-row:not([hidden])')]"
              ".find(r => r.querySelector('.name').textContent === 'channel-00001');"
              " if (!row) return false; const r = row.getBoundingClientRect();"
              " return r.top >= v.top && r.bottom <= v.bottom + 1; })()");
  most_rows = std::max(most_rows, browser.execute("return " + std::string(k_row_count)).get<int>());
  EXPECT_GT(most_rows, 5);
  EXPECT_LT(most_rows, 200) << "the list is not virtualised";
  screenshot(browser, "overview-5000-end");
}

TEST_F(DashboardTest, ChannelChartGainsAPointWhenASampleCommits) {
  // The real path: samples published over MQTT, committed by the real collector.
  const auto collector = start_collector();
  MqttProbe probe(m_broker.url(), {});
  const auto now =
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  auto sample = [&](std::int64_t seq, std::chrono::minutes ago, std::int64_t viewers) {
    Sample s;
    s.agent = "rig-1";
    s.seq = seq;
    s.ts = now - ago;
    s.platform = "nginx_rtmp";
    s.channel = "studio-a";
    s.live = true;
    s.viewers = viewers;
    s.chat_messages = 10 + seq % 7;
    s.bitrate_kbps = 4400.0 + static_cast<double>(seq * 3);
    s.title = "Modular synth jam";
    s.category = "Music";
    return s;
  };
  for (int i = 1; i <= 40; ++i)
    publish(probe, sample(i, std::chrono::minutes(41 - i), 800 + (i * 37) % 300));
  expect_count("SELECT count(*) FROM livestream_metrics", 40);
  const auto channel = std::stoll(sql("SELECT id FROM channels WHERE name = 'studio-a'"));
  add_alert("bitrate_low", "critical", "nginx_rtmp", "studio-a",
            "Bitrate under 1 Mb/s for 2 minutes");
  add_alert("viewers_drop", "warning", "owncast", "someone-else", "Not this channel");
  ASSERT_NO_FATAL_FAILURE(start_web());

  Browser browser(*m_driver, 1280, 1400);
  browser.navigate(url("/#/channel/" + std::to_string(channel) + "?range=1h"));
  expect_page(browser, "document.getElementById('chart-viewers')?.dataset.points === '40'");
  // The live stream is open before the sample commits (a first connection replays nothing).
  expect_page(browser, "document.getElementById('connection').dataset.state === 'live'");
  expect_page(browser, "document.querySelector('#session-rows a') !== null");
  // Its own open alerts only.
  expect_page(browser,
              "[...document.querySelectorAll('.alert-item .alert-rule')].map(e => e.textContent)"
              ".join() === 'bitrate_low'");

  publish(probe, sample(41, std::chrono::minutes(0), 4242));
  expect_page(browser, "document.getElementById('chart-viewers').dataset.points === '41'");
  EXPECT_EQ(
      browser.execute("return document.querySelector('#chart-viewers .chart-now').textContent;"),
      "4,242");
  EXPECT_EQ(browser.execute(
                "return document.querySelector('[data-tile=viewers] .tile-value').textContent;"),
            "4,242");
  // The series and the session list link to their CSV form, which the daemon serves.
  const auto links =
      browser.execute("return [...document.querySelectorAll('a.download')].map(a => a.href);");
  ASSERT_EQ(links.size(), 2u) << links;
  const auto series_csv = http_request(links[0].get<std::string>());
  EXPECT_EQ(series_csv.status, 200) << links[0];
  EXPECT_EQ(series_csv.body.rfind("t,viewers,chat,bitrate_kbps\n", 0), 0u) << series_csv.body;
  EXPECT_GE(std::count(series_csv.body.begin(), series_csv.body.end(), '\n'), 42);
  const auto sessions_csv = http_request(links[1].get<std::string>());
  EXPECT_EQ(sessions_csv.status, 200) << links[1];
  EXPECT_NE(sessions_csv.body.find("Modular synth jam"), std::string::npos) << sessions_csv.body;
  screenshot(browser, "channel");
  expect_clean_console(browser);

  // Switching the system to dark recolours the open charts too.
  const std::string line_colour =
      "const done = arguments[arguments.length - 1];"
      "import('/vendor/chart.js/chart.esm.js').then(({Chart}) => done("
      "Chart.getChart(document.querySelector('#chart-viewers "
      "canvas')).data.datasets[0].borderColor));";
  EXPECT_EQ(browser.execute_async(line_colour), "#6a45ff");
  browser.cdp("Emulation.setEmulatedMedia",
              {{"features", {{{"name", "prefers-color-scheme"}, {"value", "dark"}}}}});
  EXPECT_TRUE(wait_until([&] { return browser.execute_async(line_colour) == "#8b6cff"; }))
      << browser.execute_async(line_colour);
  screenshot(browser, "channel-dark");
  browser.cdp("Emulation.setEmulatedMedia", {{"features", nlohmann::json::array()}});

  // On a phone: nothing runs off the side.
  browser.cdp("Emulation.setDeviceMetricsOverride",
              {{"width", 390}, {"height", 1400}, {"deviceScaleFactor", 2}, {"mobile", true}});
  expect_page(browser, "window.innerWidth === 390");
  expect_page(browser, "document.documentElement.scrollWidth <= window.innerWidth");
  // Panels clip what overflows them, so check that the charts themselves fit.
  expect_page(browser,
              "[...document.querySelectorAll('.chart-card canvas')].every(c => "
              "c.getBoundingClientRect().right <= window.innerWidth)");
  screenshot(browser, "channel-phone");

  // A hostile address shows the not-found page, not a script error.
  browser.navigate(url("/#/channel/%E0%A4%A"));
  expect_page(browser, "document.querySelector('#view h2')?.textContent === 'Page not found'");
  expect_clean_console(browser);
}

TEST_F(DashboardTest, SessionPageSummarisesTheBroadcast) {
  const auto channel = add_channel("owncast", "late-night-radio");
  const auto session = add_session(channel, "Vinyl only", "Music", 120, true);
  for (int i = 110; i >= 20; i -= 2)
    add_sample(session, i, 300 + (i * 13) % 200, 5 + i % 11, 2500 + (i % 5) * 20);
  sql("UPDATE livestreams SET title = 'Requests hour', last_sample_at = now() - interval '60 "
      "minutes' "
      "WHERE id = " +
      std::to_string(session) + " RETURNING 1");
  for (int i = 18; i >= 10; i -= 2) add_sample(session, i, 600, 20, 2520);
  sql("UPDATE livestreams SET is_active = false, ended_at = now() - interval '10 minutes' WHERE id "
      "= " +
      std::to_string(session) + " RETURNING 1");
  ASSERT_NO_FATAL_FAILURE(start_web());

  Browser browser(*m_driver, 1280, 1500);
  browser.navigate(url("/#/session/" + std::to_string(session)));
  expect_page(browser, "document.getElementById('chart-viewers')?.dataset.points > 40");
  expect_page(browser, "document.querySelectorAll('#session-changes li').length === 2");
  EXPECT_EQ(
      browser.execute(
          "return document.querySelector('[data-tile=peak_viewers] .tile-value').textContent;"),
      "600");
  const auto duration = browser.execute(
      "return document.querySelector('[data-tile=duration_seconds] .tile-value').textContent;");
  EXPECT_EQ(duration, "1 h 50 min");
  screenshot(browser, "session");

  // Hovering the graph shows the value at that time (Chart.js' tooltip, read back from the
  // chart instance of Debian's library the page uses).
  browser.execute(
      "const c = document.querySelector('#chart-viewers canvas'); const r = "
      "c.getBoundingClientRect();"
      "c.dispatchEvent(new MouseEvent('mousemove', {clientX: r.left + r.width * 0.6, "
      "clientY: r.top + r.height / 2, bubbles: true}));");
  const auto tooltip = browser.execute_async(
      "const done = arguments[arguments.length - 1];"
      "import('/vendor/chart.js/chart.esm.js').then(({Chart}) => {"
      " const chart = Chart.getChart(document.querySelector('#chart-viewers canvas'));"
      " const t = chart.tooltip;"
      " done({active: t.getActiveElements().length, title: t.title, body: t.body.map(b => "
      "b.lines.join(' '))}); });");
  EXPECT_EQ(tooltip["active"], 1) << tooltip;
  ASSERT_EQ(tooltip["body"].size(), 1u) << tooltip;
  EXPECT_TRUE(
      std::regex_match(tooltip["body"][0].get<std::string>(), std::regex("Viewers: [0-9,]+")))
      << tooltip;
  screenshot(browser, "session-hover");
}

TEST_F(DashboardTest, OfflineFallbackShowsCachedStatsAfterTheServerStops) {
  const auto channel = add_channel("nginx_rtmp", "studio-a");
  const auto session = add_session(channel, "Offline drill", "Testing", 10, true);
  add_sample(session, 1, 321, 4, 4000);
  ASSERT_NO_FATAL_FAILURE(start_web());

  Browser browser(*m_driver);
  browser.navigate(url("/#/"));
  expect_page(browser, "navigator.serviceWorker.controller !== null");
  // Load once more under the service worker's control so it keeps the stats it passed on.
  browser.refresh();
  expect_page(
      browser,
      "document.querySelector('[data-tile=viewers_now] .tile-value').textContent === '321'");
  const bool kept = wait_until([&] {
    return browser
        .execute_async(
            "const done = arguments[arguments.length - 1];"
            "Promise.all(['/api/v1/stats', '/api/v1/channels?sort=viewers&order=desc&limit=500']"
            ".map(u => caches.match(u))).then(r => done(r.every(Boolean)), () => done(false));")
        .get<bool>();
  });
  ASSERT_TRUE(kept) << "the service worker never kept the stats and the channels\n"
                    << browser.console_log();
  EXPECT_TRUE(
      browser.execute("return document.getElementById('offline-banner').hidden;").get<bool>());

  ASSERT_NO_FATAL_FAILURE(stop_web());
  browser.refresh();
  expect_page(browser, "!document.getElementById('offline-banner').hidden");
  const auto banner =
      browser.execute("return document.getElementById('offline-banner').textContent;")
          .get<std::string>();
  EXPECT_TRUE(std::regex_match(banner, std::regex("Offline, figures from [0-9]{2}:[0-9]{2}")))
      << banner;
  expect_page(
      browser,
      "document.querySelector('[data-tile=viewers_now] .tile-value').textContent === '321'");
  expect_page(browser, "document.getElementById('channel-list').dataset.items === '1'");
  screenshot(browser, "offline");

  // The server comes back: the live stream reconnects, the figures reload, the banner goes.
  add_sample(session, 0, 654, 4, 4000);
  ASSERT_NO_FATAL_FAILURE(start_web());
  expect_page(browser, "document.getElementById('offline-banner').hidden");
  expect_page(
      browser,
      "document.querySelector('[data-tile=viewers_now] .tile-value').textContent === '654'");
  expect_page(browser, "document.getElementById('connection').dataset.state === 'live'");
}

TEST_F(DashboardTest, HostileChannelNameIsShownAsTextAndNotRun) {
  const std::string hostile = "<img src=x onerror=\"window.__pwned=1\">";
  const std::string hostile_title = "<script>window.__pwned=2</script><b>bold?</b>";
  const auto channel = add_channel("twitch", hostile);
  const auto session = add_session(channel, hostile_title, "<i>category</i>", 20, true);
  add_sample(session, 2, 77, 1, 3000);
  add_sample(session, 1, 78, 1, 3000);
  ASSERT_NO_FATAL_FAILURE(start_web());

  Browser browser(*m_driver);
  browser.navigate(url("/#/"));
  expect_page(browser, "document.getElementById('channel-list').dataset.items === '1'");
  EXPECT_EQ(browser.execute("return document.querySelector('.channel-row .name').textContent;"),
            hostile);
  EXPECT_EQ(
      browser.execute(
          "return document.querySelectorAll('#view img, #view script, #view b, #view i').length;"),
      0);
  screenshot(browser, "hostile-overview");

  browser.navigate(url("/#/channel/" + std::to_string(channel)));
  expect_page(browser,
              "document.getElementById('channel-name')?.textContent === " + js_string(hostile));
  expect_page(browser, "document.querySelector('#session-rows a') !== null");
  EXPECT_EQ(
      browser.execute(
          "return document.querySelectorAll('#view img, #view script, #view b, #view i').length;"),
      0);
  EXPECT_TRUE(browser.execute("return window.__pwned === undefined;").get<bool>());
  screenshot(browser, "hostile-channel");
  expect_clean_console(browser);
}

}  // namespace
}  // namespace streamtrack::web::testing

namespace streamtrack::web::testing {
namespace {

// The dashboard's API client (web/ui/lib/api.js) in the page, counting the page's own fetches.
TEST_F(DashboardTest, ApiClientKeepsRepliesFreshRetriesWithBackoffAndFallsBackToWhatItKept) {
  add_channel("nginx_rtmp", "studio-a");
  ASSERT_NO_FATAL_FAILURE(start_web());
  Browser browser(*m_driver);
  browser.navigate(url("/#/alerts"));
  expect_page(browser, "document.getElementById('view').dataset.ready === 'true'");

  const auto first = browser.execute_async(R"js(
    const done = arguments[arguments.length - 1];
    import('/lib/api.js').then(async (api) => {
      window.__api = api;
      window.__fetches = [];
      const realFetch = window.fetch.bind(window);
      window.fetch = (...args) => {
        window.__fetches.push({ url: String(args[0]), at: performance.now() });
        return realFetch(...args);
      };
      const a = await api.getJson('/api/v1/channels?limit=1');
      const b = await api.getJson('/api/v1/channels?limit=1');
      let refused = null;
      try { await api.getJson('/api/v1/channels?limit=100000'); } catch (e) { refused = e; }
      done({ same: a === b, items: a.items.length, fetches: window.__fetches.length,
             refusedStatus: refused && refused.status, refusedParameter: refused && refused.parameter });
    }, (e) => done({ error: String(e) }));)js");
  ASSERT_FALSE(first.contains("error")) << first;
  EXPECT_EQ(first["items"], 1);
  EXPECT_TRUE(first["same"].get<bool>()) << "a reply is fresh for 60 s: " << first;
  // Two fetches: the channels once (the second ask came from memory), the bad limit once (a
  // 4xx is final, not retried).
  EXPECT_EQ(first["fetches"], 2) << first;
  EXPECT_EQ(first["refusedStatus"], 400);
  EXPECT_EQ(first["refusedParameter"], "limit");

  // The database goes away: the daemon answers 5xx, the client tries 1 + 3 times, waiting
  // 1 s, 2 s, 4 s, then answers the reply it kept (under 5 min old) and says it is offline.
  m_pg.stop();
  browser.execute(R"js(
    window.__fetches = [];
    window.__result = null;
    window.__api.getJson('/api/v1/channels?limit=1', { fresh: true }).then(
      (d) => { window.__result = { ok: true, items: d.items.length, state: window.__api.connectionState() }; },
      (e) => { window.__result = { ok: false, error: String(e) }; });)js");
  expect_page(browser, "window.__result !== null", 120s);
  const auto result = browser.execute("return window.__result;");
  const auto fetches = browser.execute("return window.__fetches.map(f => f.at);");
  EXPECT_TRUE(result["ok"].get<bool>()) << result;
  EXPECT_EQ(result["items"], 1) << result;
  EXPECT_FALSE(result["state"]["online"].get<bool>()) << result;
  ASSERT_EQ(fetches.size(), 4u) << fetches;
  const double expected_gap_ms[] = {1000, 2000, 4000};
  for (std::size_t i = 1; i < fetches.size(); ++i) {
    EXPECT_GE(fetches[i].get<double>() - fetches[i - 1].get<double>(), expected_gap_ms[i - 1])
        << "retry " << i << " came too soon: " << fetches;
  }
  expect_page(browser, "!document.getElementById('offline-banner').hidden");

  // The database is back: one fetch, fresh figures, online again.
  m_pg.start();
  browser.execute(R"js(
    window.__fetches = [];
    window.__result = null;
    window.__api.getJson('/api/v1/channels?limit=1', { fresh: true }).then(
      (d) => { window.__result = { ok: true, state: window.__api.connectionState() }; },
      (e) => { window.__result = { ok: false, error: String(e) }; });)js");
  expect_page(browser, "window.__result !== null && window.__result.ok", 120s);
  EXPECT_TRUE(browser.execute("return window.__result.state.online;").get<bool>());
  expect_page(browser, "document.getElementById('offline-banner').hidden");
}

}  // namespace
}  // namespace streamtrack::web::testing
