// The JSON API against real data: samples go MQTT → real collector → PostgreSQL, and the real
// streamtrack-web (connected as the read-only role) answers.
#include <gtest/gtest.h>

#include <future>
#include <set>

#include "tests/web/integration/web_fixture.hpp"

namespace streamtrack::web::testing {
namespace {

using namespace std::chrono_literals;

TimePoint now_ms() {
  return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

class ApiTest : public WebTest {
 protected:
  // Two channels: "alpha" (8 samples 10 s apart, its title changes half-way) and "beta"
  // (3 samples); an agent status and health.
  void load_data(MqttProbe& probe) {
    const auto base = now_ms() - 2min;
    // Two commits, as samples 10 s apart arrive in production: the title history records
    // what each commit changed.
    std::vector<Sample> first_half;
    std::vector<Sample> second_half;
    for (int i = 0; i < 8; ++i) {
      auto s = sample_at("a1", i + 1, base + std::chrono::seconds(10 * i), "alpha", 100 + i * 10);
      if (i >= 4) s.title = "Second half";
      (i < 4 ? first_half : second_half).push_back(s);
    }
    for (int i = 0; i < 3; ++i) {
      first_half.push_back(
          sample_at("a1", 100 + i, base + std::chrono::seconds(10 * i), "beta", 5 + i));
    }
    publish_and_wait(probe, first_half, 7);
    publish_and_wait(probe, second_half, 11);
    wire::Status status;
    status.state = "online";
    status.version = "9.9.9";
    status.sources = 2;
    status.ts = now_ms();
    probe.publish(k_topics.status("a1"), wire::encode_status(status), true);
    wire::Health health;
    health.ts = now_ms();
    health.buffer_depth = 7;
    health.oldest_unsent_age_s = 2.5;
    probe.publish(k_topics.health("a1"), wire::encode_health(health));
    expect_count("SELECT count(*) FROM agents WHERE state = 'online' AND health IS NOT NULL", 1);
  }

  std::int64_t channel_id(const std::string& name) {
    return std::stoll(pg_scalar(m_dsn, "SELECT id FROM channels WHERE name = '" + name + "'"));
  }
};

TEST_F(ApiTest, EveryEndpointAnswersWithTheDocumentedShape) {
  auto collector = start_stack_collector(
      "[[alert]]\nname = \"on-air\"\nrule = \"went_live\"\nseverity = \"info\"\n");
  MqttProbe probe(m_broker.url(), {});
  load_data(probe);
  auto web = start_web();
  const auto alpha = channel_id("alpha");
  const auto beta = channel_id("beta");

  const auto stats = get_json("/api/v1/stats");
  EXPECT_EQ(stats["live_channels"], 2);
  EXPECT_EQ(stats["viewers_now"], 170 + 7);
  EXPECT_GE(stats["peak_viewers_today"].get<std::int64_t>(), 177);
  EXPECT_GT(stats["chat_per_minute"].get<double>(), 0.0);
  EXPECT_EQ(stats["agents_online"], 1);
  EXPECT_TRUE(stats["open_alerts"].is_number_integer());
  EXPECT_TRUE(stats["generated_at"].get<std::string>().ends_with("Z"));

  const auto channels = get_json("/api/v1/channels");
  ASSERT_EQ(channels["items"].size(), 2u);
  const auto& first = channels["items"][0];  // sorted by viewers, descending
  EXPECT_EQ(first["id"], alpha);
  EXPECT_EQ(first["platform"], "owncast");
  EXPECT_EQ(first["name"], "alpha");
  EXPECT_EQ(first["live"], true);
  EXPECT_EQ(first["viewers"], 170);
  EXPECT_EQ(first["title"], "Second half");
  EXPECT_EQ(first["category"], "Music");
  EXPECT_TRUE(first["session_id"].is_number_integer());
  EXPECT_TRUE(first["chat_per_minute"].is_number());
  EXPECT_DOUBLE_EQ(first["bitrate_kbps"].get<double>(), 2508.0);
  EXPECT_TRUE(first["last_sample_at"].get<std::string>().ends_with("Z"));
  EXPECT_TRUE(channels["next_cursor"].is_null());

  const auto channel = get_json("/api/v1/channels/" + std::to_string(beta));
  EXPECT_EQ(channel["name"], "beta");
  EXPECT_EQ(channel["viewers"], 7);

  const auto sessions = get_json("/api/v1/channels/" + std::to_string(alpha) + "/sessions");
  ASSERT_EQ(sessions["items"].size(), 1u);
  const auto& summary = sessions["items"][0];
  EXPECT_EQ(summary["channel_id"], alpha);
  EXPECT_EQ(summary["live"], true);
  EXPECT_TRUE(summary["ended_at"].is_null());
  EXPECT_EQ(summary["peak_viewers"], 170);
  EXPECT_EQ(summary["title"], "Second half");
  const auto session_id = summary["id"].get<std::int64_t>();
  // avg_viewers comes from stream_analytics_hourly, refreshed every 200 ms here.
  ASSERT_TRUE(wait_until([&] {
    return get_json("/api/v1/channels/" + std::to_string(alpha) +
                    "/sessions")["items"][0]["avg_viewers"]
        .is_number();
  }));

  const auto session = get_json("/api/v1/sessions/" + std::to_string(session_id));
  EXPECT_EQ(session["id"], session_id);
  EXPECT_EQ(session["duration_seconds"], 70);
  EXPECT_DOUBLE_EQ(session["avg_viewers"].get<double>(), 135.0);
  EXPECT_TRUE(session["chat_total"].is_number_integer());
  EXPECT_TRUE(session["peak_chat_per_minute"].is_number());
  EXPECT_DOUBLE_EQ(session["bitrate"]["min"].get<double>(), 2501.0);
  EXPECT_DOUBLE_EQ(session["bitrate"]["max"].get<double>(), 2508.0);
  EXPECT_GT(session["bitrate"]["stddev"].get<double>(), 0.0);
  ASSERT_EQ(session["changes"].size(), 2u);
  EXPECT_EQ(session["changes"][0]["title"], "Stream alpha");
  EXPECT_EQ(session["changes"][1]["title"], "Second half");
  EXPECT_EQ(session["channel"]["id"], alpha);

  const auto series = get_json("/api/v1/channels/" + std::to_string(alpha) + "/series?from=" +
                               format_rfc3339(now_ms() - 1h) + "&to=" + format_rfc3339(now_ms()));
  EXPECT_EQ(series["resolution"], "raw");
  EXPECT_EQ(series["channel_id"], alpha);
  EXPECT_EQ(series["points"].size(), 8u);
  EXPECT_EQ(series["source_rows"], 8);
  EXPECT_EQ(series["points"][0]["viewers"], 100.0);
  EXPECT_TRUE(series["points"][0]["t"].get<std::string>().ends_with("Z"));

  const auto session_series =
      get_json("/api/v1/sessions/" + std::to_string(session_id) + "/series");
  EXPECT_EQ(session_series["resolution"], "raw");
  EXPECT_EQ(session_series["points"].size(), 8u);

  const auto csv = get("/api/v1/channels/" + std::to_string(alpha) +
                       "/series?format=csv&from=" + format_rfc3339(now_ms() - 1h));
  EXPECT_EQ(csv.status, 200);
  EXPECT_EQ(csv.header("content-type"), "text/csv; charset=utf-8");
  EXPECT_TRUE(csv.body.starts_with("t,viewers,chat,bitrate_kbps\n")) << csv.body;
  EXPECT_EQ(std::count(csv.body.begin(), csv.body.end(), '\n'), 9);
  const auto csv_accept =
      get("/api/v1/channels/" + std::to_string(alpha) + "/sessions", {{"Accept", "text/csv"}});
  EXPECT_EQ(csv_accept.header("content-type"), "text/csv; charset=utf-8");
  EXPECT_TRUE(csv_accept.body.starts_with(
      "id,channel_id,started_at,ended_at,live,peak_viewers,avg_viewers,title,category\n"));

  const auto agents = get_json("/api/v1/agents");
  ASSERT_EQ(agents["items"].size(), 1u);
  const auto& agent = agents["items"][0];
  EXPECT_EQ(agent["agent_id"], "a1");
  EXPECT_EQ(agent["state"], "online");
  EXPECT_EQ(agent["online"], true);
  EXPECT_EQ(agent["version"], "9.9.9");
  EXPECT_EQ(agent["sources"], 2);
  EXPECT_EQ(agent["buffer_depth"], 7);
  EXPECT_DOUBLE_EQ(agent["oldest_unsent_seconds"].get<double>(), 2.5);
  EXPECT_EQ(agent["health"], "ok");
  EXPECT_TRUE(agent["last_seen"].get<std::string>().ends_with("Z"));

  // went_live fires for both live channels (alert evaluation runs on the collector's timer).
  ASSERT_TRUE(
      wait_until([&] { return get_json("/api/v1/alerts?state=open")["items"].size() == 2; }));
  const auto alerts = get_json("/api/v1/alerts?state=open&channel=" + std::to_string(alpha));
  ASSERT_EQ(alerts["items"].size(), 1u);
  const auto& alert = alerts["items"][0];
  EXPECT_EQ(alert["rule"], "on-air");
  EXPECT_EQ(alert["severity"], "info");
  EXPECT_EQ(alert["channel_id"], alpha);
  EXPECT_EQ(alert["platform"], "owncast");
  EXPECT_EQ(alert["channel"], "alpha");
  EXPECT_EQ(alert["agent_id"], "a1");
  EXPECT_TRUE(alert["resolved_at"].is_null());
  EXPECT_TRUE(get_json("/api/v1/alerts?state=recent")["items"].is_array());
}

TEST_F(ApiTest, StatsAnswer304ToAMatchingETagAndAreComputedOncePerWindow) {
  auto collector = start_stack_collector();
  MqttProbe probe(m_broker.url(), {});
  publish_and_wait(probe, {sample_at("a1", 1, now_ms(), "alpha", 42)}, 1);
  auto web = start_web({"[api]\nstats_window = \"1h\"\n", ""});

  const auto first = get("/api/v1/stats");
  ASSERT_EQ(first.status, 200);
  const auto etag = first.header("etag");
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(first.header("cache-control"), "public, max-age=3600, s-maxage=60");

  const auto again = get("/api/v1/stats", {{"If-None-Match", etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(again.header("etag"), etag);
  EXPECT_EQ(get("/api/v1/stats", {{"If-None-Match", "W/\"0000\""}}).status, 200);

  std::vector<std::future<HttpReply>> replies;
  for (int i = 0; i < 40; ++i) {
    replies.push_back(std::async(std::launch::async, [&] { return get("/api/v1/stats"); }));
  }
  for (auto& r : replies) {
    const auto reply = r.get();
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.header("etag"), etag);
  }
  const auto metrics = get("/metrics").body;
  EXPECT_NE(metrics.find("streamtrack_web_stats_computations 1\n"), std::string::npos) << metrics;
}

TEST_F(ApiTest, BadInputGetsA4xxJsonErrorNamingTheParameter) {
  auto collector = start_stack_collector();
  MqttProbe probe(m_broker.url(), {});
  publish_and_wait(
      probe, {sample_at("a1", 1, now_ms(), "alpha", 42), sample_at("a1", 2, now_ms(), "beta", 43)},
      2);
  auto web = start_web();
  const auto id = std::to_string(channel_id("alpha"));
  const auto cursor_of_other_sort = get_json("/api/v1/channels?sort=name&limit=1");
  struct Case {
    std::string target;
    int status;
    std::string parameter;
  };
  const std::vector<Case> cases{
      {"/api/v1/channels?limit=0", 400, "limit"},
      {"/api/v1/channels?limit=501", 400, "limit"},
      {"/api/v1/channels?limit=1e3", 400, "limit"},
      {"/api/v1/channels?limit=99999999999999999999999", 400, "limit"},
      {"/api/v1/channels?sort=popularity", 400, "sort"},
      {"/api/v1/channels?order=up", 400, "order"},
      {"/api/v1/channels?live=yes", 400, "live"},
      {"/api/v1/channels?cursor=not-a-cursor", 400, "cursor"},
      {"/api/v1/channels?cursor=eyJrIjoiY2hhbm5lbHM6dmlld2VyczpkZXNjIiwidiI6IngiLCJpIjoxfQ", 400,
       "cursor"},
      {"/api/v1/channels?q=" + std::string(201, 'x'), 400, "q"},
      {"/api/v1/channels?q=%ff", 400, "q"},
      {"/api/v1/channels?q=%00", 400, "q"},
      {"/api/v1/channels?limit=1&limit=2", 400, "limit"},
      {"/api/v1/channels?colour=red", 400, "colour"},
      {"/api/v1/channels/abc", 400, "id"},
      {"/api/v1/channels/0", 400, "id"},
      {"/api/v1/channels/999999", 404, "id"},
      {"/api/v1/channels/999999/sessions", 404, "id"},
      {"/api/v1/sessions/999999", 404, "id"},
      {"/api/v1/sessions/999999/series", 404, "id"},
      {"/api/v1/channels/" + id + "/series?from=yesterday", 400, "from"},
      {"/api/v1/channels/" + id + "/series?to=10000-01-01T00:00:00Z", 400, "to"},
      {"/api/v1/channels/" + id + "/series?from=2026-02-30T00:00:00Z", 400, "from"},
      {"/api/v1/channels/" + id + "/series?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", 400,
       "to"},
      {"/api/v1/channels/" + id + "/series?from=2000-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", 400,
       "from"},
      {"/api/v1/channels/" + id + "/series?step=0", 400, "step"},
      {"/api/v1/channels/" + id + "/series?step=-5", 400, "step"},
      {"/api/v1/channels/" + id + "/series?format=xml", 400, "format"},
      {"/api/v1/channels/" + id +
           "/sessions?cursor=" + cursor_of_other_sort["next_cursor"].get<std::string>(),
       400, "cursor"},
      {"/api/v1/alerts?state=closed", 400, "state"},
      {"/api/v1/stats?x=1", 400, "x"},
      {"/api/v1/live?channel=abc", 400, "channel"},
      {"/api/v1/live?channel=999999", 404, "channel"},
  };
  for (const auto& c : cases) {
    const auto reply = get(c.target);
    EXPECT_EQ(reply.status, c.status) << c.target << " -> " << reply.body;
    const auto j = json::parse(reply.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << c.target << " -> " << reply.body;
    EXPECT_EQ(j["error"]["parameter"], c.parameter) << c.target << " -> " << reply.body;
    EXPECT_FALSE(j["error"]["message"].get<std::string>().empty());
    EXPECT_EQ(j["error"]["code"], c.status == 404 ? "not_found" : "bad_parameter");
    EXPECT_EQ(reply.header("content-type"), "application/json");
  }
  const auto bad_resume = get("/api/v1/live", {{"Last-Event-ID", "12x"}});
  EXPECT_EQ(bad_resume.status, 400);
  EXPECT_EQ(json::parse(bad_resume.body)["error"]["parameter"], "Last-Event-ID");
  EXPECT_EQ(get("/api/v1/nothing").status, 404);
  EXPECT_EQ(http_get(m_web_port, "/api/v1/stats", {}, "POST").status, 405);
  EXPECT_EQ(http_get(m_web_port, "/api/v1/stats", {}, "DELETE").status, 405);

  // Text that would break a query built by concatenation is only ever a parameter.
  const auto injected = get_json("/api/v1/channels?q=%27%20OR%201%3D1%20--&platform=x%27%3B");
  EXPECT_EQ(injected["items"].size(), 0u);
  EXPECT_EQ(get_json("/api/v1/channels?q=%25")["items"].size(), 0u);  // '%' is literal
  EXPECT_EQ(get_json("/api/v1/channels?q=alp")["items"].size(), 1u);
  // The daemon is still well.
  EXPECT_EQ(get("/healthz").status, 200);
  const auto health = get_json("/healthz");  // the seed's shape
  EXPECT_EQ(health.value("status", ""), "healthy") << health.dump();
  EXPECT_TRUE(health.contains("timestamp") && health.contains("version")) << health.dump();
}

TEST_F(ApiTest, HostileRequestsGetA4xxAndTheDaemonCarriesOn) {
  auto collector = start_stack_collector();
  auto web = start_web();
  const auto status_of = [](const std::string& reply) { return reply.substr(0, 12); };
  EXPECT_EQ(status_of(http_raw(m_web_port, "GET /api/v1/stats HTTP/1.1\r\nX-Big: " +
                                               std::string(20'000, 'a') + "\r\n\r\n")),
            "HTTP/1.1 431");
  EXPECT_EQ(status_of(http_raw(m_web_port, "GET / HTTP/1.1\r\nContent-Length: 100000\r\n\r\n" +
                                               std::string(100'000, 'b'))),
            "HTTP/1.1 413");
  EXPECT_EQ(status_of(http_raw(m_web_port, "\x01\x02 garbage\r\n\r\n")), "HTTP/1.1 400");
  EXPECT_EQ(status_of(http_raw(m_web_port, "GET http://evil.example/ HTTP/1.1\r\n\r\n")),
            "HTTP/1.1 400");
  EXPECT_EQ(status_of(http_raw(m_web_port, "GET /%zz HTTP/1.1\r\n\r\n")), "HTTP/1.1 400");
  // Two pipelined requests on one connection are answered in order.
  const auto two = http_raw(m_web_port,
                            "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nothing HTTP/1.1\r\n"
                            "Host: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(two), "HTTP/1.1 200");
  EXPECT_NE(two.find("HTTP/1.1 404"), std::string::npos);
  // HEAD of the live stream: its headers, no subscription that would never end.
  const auto head = http_get(m_web_port, "/api/v1/live", {}, "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("content-type"), "text/event-stream; charset=utf-8");
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(get("/healthz").status, 200);
}

TEST_F(ApiTest, SeriesResolutionIsChosenByTheServer) {
  auto collector = start_stack_collector();
  MqttProbe probe(m_broker.url(), {});
  const auto base = now_ms() - 3h;
  std::vector<Sample> samples;
  for (int i = 0; i < 6; ++i) {
    samples.push_back(
        sample_at("a1", i + 1, base + std::chrono::minutes(30 * i), "alpha", 10 * (i + 1)));
  }
  publish_and_wait(probe, samples, 6);
  auto web = start_web();
  const auto id = std::to_string(channel_id("alpha"));
  // 30 minutes apart, each sample is a session of its own: one hourly row per sample.
  expect_count("SELECT count(*) FROM stream_analytics_hourly", 6);  // refreshed by the collector
  const auto hours =
      std::stoul(pg_scalar(m_dsn, "SELECT count(DISTINCT hour) FROM stream_analytics_hourly"));

  const auto raw = get_json("/api/v1/channels/" + id + "/series?from=" + format_rfc3339(base - 1h) +
                            "&to=" + format_rfc3339(now_ms()));
  EXPECT_EQ(raw["resolution"], "raw");
  EXPECT_EQ(raw["points"].size(), 6u);

  const auto month = get_json("/api/v1/channels/" + id +
                              "/series?from=" + format_rfc3339(now_ms() - std::chrono::days(30)) +
                              "&to=" + format_rfc3339(now_ms()));
  EXPECT_EQ(month["resolution"], "hourly");
  EXPECT_EQ(month["step_seconds"].get<std::int64_t>() % 3600, 0);
  EXPECT_EQ(month["source_rows"], 6);  // rows of the hourly table, not raw samples
  EXPECT_EQ(month["points"].size(), hours);

  const auto years = get_json("/api/v1/channels/" + id + "/series?from=" +
                              format_rfc3339(now_ms() - std::chrono::days(4 * 365)) +
                              "&to=" + format_rfc3339(now_ms()) + "&step=60");
  EXPECT_EQ(years["resolution"], "hourly");
  EXPECT_LE(4LL * 365 * 86400 / years["step_seconds"].get<std::int64_t>(), 2000);

  const auto asked_hourly = get_json("/api/v1/channels/" + id +
                                     "/series?from=" + format_rfc3339(base - 1h) + "&step=3600");
  EXPECT_EQ(asked_hourly["resolution"], "hourly");
}

TEST_F(ApiTest, StaticFilesAreServedSafelyWithTheSecurityHeaders) {
  auto collector = start_stack_collector();
  auto web = start_web();
  const auto index = get("/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.header("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(index.body.find("StreamTrack"), std::string::npos);
  const std::map<std::string, std::string> types{
      {"/app.js", "text/javascript; charset=utf-8"},
      {"/style.css", "text/css; charset=utf-8"},
      {"/icon.svg", "image/svg+xml"},
      {"/manifest.webmanifest", "application/manifest+json"},
      {"/vendor/chart.js/chart.esm.js", "text/javascript; charset=utf-8"},
  };
  for (const auto& [path, type] : types) {
    const auto r = get(path);
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.header("content-type"), type) << path;
  }
  const auto sw = get("/sw.js");
  EXPECT_EQ(sw.status, 200);
  EXPECT_EQ(sw.header("service-worker-allowed"), "/");
  const auto cached = get("/app.js", {{"If-None-Match", get("/app.js").header("etag")}});
  EXPECT_EQ(cached.status, 304);

  for (const std::string evil :
       {"/../../../../etc/passwd", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2f..%2fetc/passwd",
        "/vendor/chart.js/../../../../etc/passwd",
        "/vendor/chart.js/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/.secret", "/%00index.html",
        "/index.html%00.js", "/..\\..\\etc\\passwd", "/nothing.js"}) {
    const auto r = get(evil);
    EXPECT_TRUE(r.status == 404 || r.status == 400) << evil << " -> " << r.status;
    EXPECT_EQ(r.body.find("root:"), std::string::npos) << evil;
    EXPECT_EQ(r.body.find("not for you"), std::string::npos) << evil;
  }
  for (const std::string path :
       {"/", "/api/v1/stats", "/nothing", "/api/v1/channels?limit=0", "/healthz", "/metrics"}) {
    const auto r = get(path);
    EXPECT_EQ(r.header("content-security-policy"),
              "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
              "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
        << path;
    EXPECT_EQ(r.header("x-content-type-options"), "nosniff") << path;
  }
  const auto ready = get_json("/readyz");
  EXPECT_EQ(ready["status"], "ok");
  EXPECT_EQ(ready["checks"]["database"]["ok"], true);
  EXPECT_EQ(ready["checks"]["live_feed"]["ok"], true);
  EXPECT_NE(get("/metrics").body.find("streamtrack_web_requests_total"), std::string::npos);
}

TEST_F(ApiTest, TheDocumentedRoleCanOnlyRead) {
  auto collector = start_stack_collector();
  MqttProbe probe(m_broker.url(), {});
  publish_and_wait(probe, {sample_at("a1", 1, now_ms(), "alpha", 42)}, 1);
  EXPECT_EQ(pg_scalar(readonly_dsn(), "SELECT count(*) FROM channel_current"), "1");
  EXPECT_THROW(pg_query(readonly_dsn(), "INSERT INTO channels (platform, name) VALUES ('x', 'y')"),
               std::runtime_error);
  EXPECT_THROW(pg_query(readonly_dsn(), "DELETE FROM livestream_metrics"), std::runtime_error);
  EXPECT_THROW(pg_query(readonly_dsn(), "CREATE TABLE t (x int)"), std::runtime_error);
  auto web = start_web();
  EXPECT_EQ(get_json("/api/v1/channels")["items"].size(), 1u);
}

TEST_F(ApiTest, TokenAuthenticationGuardsEverythingButHealth) {
  auto collector = start_stack_collector();
  write_file(m_dir / "token", "0123456789abcdef-secret\n");
  auto web = start_web(
      {"[auth]\nmode = \"token\"\ntoken_file = \"" + (m_dir / "token").string() + "\"\n", ""});
  EXPECT_EQ(get("/api/v1/stats").status, 401);
  EXPECT_EQ(get("/").status, 401);
  EXPECT_EQ(get("/api/v1/stats", {{"Authorization", "Bearer wrong"}}).status, 401);
  EXPECT_EQ(get("/api/v1/stats", {{"Authorization", "Bearer 0123456789abcdef-secret"}}).status,
            200);
  // A reply that needed credentials is never offered to shared caches (RFC 9111 section 3.5).
  EXPECT_EQ(get("/api/v1/stats", {{"Authorization", "Bearer 0123456789abcdef-secret"}})
                .header("cache-control"),
            "private, max-age=5");  // stats_window defaults to 5 s
  EXPECT_EQ(get("/healthz").status, 200);
  EXPECT_EQ(get("/readyz").status, 200);
}

TEST_F(ApiTest, BasicAuthenticationChecksAHashedPasswordFile) {
  auto collector = start_stack_collector();
  const auto hash = run_command({"openssl", "passwd", "-6", "-salt", "streamtrk", "hunter22"});
  ASSERT_EQ(hash.exit_code, 0) << hash.output;
  write_file(m_dir / "htpasswd", "# viewers\nops:" + hash.output);
  auto web = start_web(
      {"[auth]\nmode = \"basic\"\nhtpasswd_file = \"" + (m_dir / "htpasswd").string() + "\"\n",
       ""});
  const auto denied = get("/api/v1/stats");
  EXPECT_EQ(denied.status, 401);
  EXPECT_NE(denied.header("www-authenticate").find("Basic"), std::string::npos);
  // "ops:wrong" and "ops:hunter22" in base64.
  EXPECT_EQ(get("/api/v1/stats", {{"Authorization", "Basic b3BzOndyb25n"}}).status, 401);
  EXPECT_EQ(get("/api/v1/stats", {{"Authorization", "Basic b3BzOmh1bnRlcjIy"}}).status, 200);
  EXPECT_EQ(get("/api/v1/stats", {{"Authorization", "Basic !!!"}}).status, 401);
}

TEST_F(ApiTest, ConfigurationIsCheckedLikeTheOtherDaemons) {
  const auto shipped = run_command({(bin_dir() / "streamtrack-web").string(), "--check-config",
                                    "-c", (source_dir() / "conf/web.toml").string()});
  EXPECT_EQ(shipped.exit_code, 0) << shipped.output;
  write_file(m_dir / "bad.toml",
             "[web]\nlisten = \"0.0.0.0\"\nthreads = 3\n[postgres]\ndsn = \"x\"\npool_max = 0\n");
  const auto bad = run_command({(bin_dir() / "streamtrack-web").string(), "--check-config", "-c",
                                (m_dir / "bad.toml").string()});
  EXPECT_EQ(bad.exit_code, 1);
  const auto file = (m_dir / "bad.toml").string();
  EXPECT_NE(bad.output.find(file + ":2:10: web: listen: expected \"address:port\""),
            std::string::npos)
      << bad.output;
  EXPECT_NE(bad.output.find(file + ":3:1: web: threads: unknown key"), std::string::npos)
      << bad.output;
  EXPECT_NE(bad.output.find(file + ":6:12: postgres: pool_max:"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace streamtrack::web::testing
