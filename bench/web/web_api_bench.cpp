// p50/p99 latency of streamtrack-web's stats, channels and series endpoints over a large
// database, as ratios against /healthz (the HTTP floor: same connection handling, no query)
// measured in the same run.
//   web_api_bench [metric_rows=2000000] [channels=20000] [requests=300]
// One channel gets 30 days of samples 10 s apart (259,200 rows) for the series; the remaining
// rows are spread over the other channels' last hours. The hourly table is computed from the
// raw rows. Every request opens its own connection (as the baseline does).
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <vector>

#include "bench/web/web_bench_support.hpp"
#include "collector/analytics/hourly.hpp"
#include "common/util/guarded_main.hpp"
#include "common/util/time.hpp"
#include "tests/web/integration/web_client.hpp"

using namespace streamtrack;
using namespace streamtrack::bench;
using streamtrack::web::testing::http_get;

namespace {

struct Latency {
  double p50_ms = 0;
  double p99_ms = 0;
};

Latency measure(std::uint16_t port, const std::string& target, int requests) {
  std::vector<double> ms;
  ms.reserve(static_cast<std::size_t>(requests));
  for (int i = 0; i < requests; ++i) {
    const auto start = Steady::now();
    const auto reply = http_get(port, target);
    ms.push_back(seconds_since(start) * 1000.0);
    if (reply.status != 200)
      throw std::runtime_error(target + " -> " + std::to_string(reply.status) + " " + reply.body);
  }
  std::sort(ms.begin(), ms.end());
  const auto at = [&](double q) {
    return ms[std::min(ms.size() - 1,
                       static_cast<std::size_t>(q * static_cast<double>(ms.size())))];
  };
  return {at(0.50), at(0.99)};
}

// Median time of `sql` on one open connection (connection set-up is not part of it).
double timed_sql_ms(const std::string& dsn, const std::string& sql, int runs) {
  collector::store::ConnectOptions o;
  o.dsn = dsn;
  collector::store::PgConnection conn(o);
  conn.exec(sql);  // warm
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    const auto start = Steady::now();
    conn.exec(sql);
    ms.push_back(seconds_since(start) * 1000.0);
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

int run_bench(int argc, char** argv) {
  const long long rows = argc > 1 ? std::atoll(argv[1]) : 2'000'000;
  const int channels = argc > 2 ? std::atoi(argv[2]) : 20'000;
  const int requests = argc > 3 ? std::atoi(argv[3]) : 300;
  constexpr long long k_series_rows = 30LL * 24 * 360;  // 30 days, every 10 s

  PostgresServer pg;
  TempDir dir("streamtrack-web-bench");
  const auto dsn = pg.create_database("streamtrack");
  prepare_schema(dsn);

  auto t = Steady::now();
  pg_query(dsn,
           "INSERT INTO channels (platform, name) SELECT CASE WHEN g % 5 = 0 THEN 'twitch' "
           "ELSE 'owncast' END, 'channel-' || g FROM generate_series(1, " +
               std::to_string(channels) + ") g");
  pg_query(dsn,
           "INSERT INTO livestreams (channel_id, session_key, started_at, last_sample_at, "
           "title, category, is_active) SELECT id, 'bench', now() - interval '30 days', "
           "now(), 'title ' || id, 'Music', id % 4 <> 0 FROM channels");
  // Channel 1: 30 days of raw samples, 10 s apart.
  pg_query(dsn,
           "INSERT INTO livestream_metrics (livestream_id, \"timestamp\", viewer_count, "
           "chat_messages, bitrate_kbps, agent_id, seq) SELECT 1, now() - g * interval '10 "
           "seconds', 100 + (g % 50), g % 7, 3000 + (g % 11), 'bench', g FROM "
           "generate_series(1, " +
               std::to_string(k_series_rows) + ") g");
  // The rest over every other channel, in statements of at most 500,000 rows (each one is
  // one trigger run, like one very large collector batch).
  const long long rest = std::max(0LL, rows - k_series_rows);
  const long long per_channel = std::max(1LL, rest / std::max(1, channels - 1));
  long long seq = k_series_rows + 1;
  long long done = 0;
  const long long chunk_channels = std::max(1LL, 500'000 / per_channel);
  {
    for (long long c = 2; c <= channels && done < rest; c += chunk_channels) {
      const long long last = std::min<long long>(channels, c + chunk_channels - 1);
      pg_query(dsn,
               "INSERT INTO livestream_metrics (livestream_id, \"timestamp\", viewer_count, "
               "chat_messages, bitrate_kbps, agent_id, seq) SELECT l, now() - s * interval "
               "'10 seconds', (l * 7 + s) % 5000, s % 9, 2500, 'bench', " +
                   std::to_string(seq) + " + (l - " + std::to_string(c) + ") * " +
                   std::to_string(per_channel) + " + s FROM generate_series(" + std::to_string(c) +
                   ", " + std::to_string(last) + ") l, generate_series(1, " +
                   std::to_string(per_channel) + ") s");
      seq += (last - c + 1) * per_channel;
      done += (last - c + 1) * per_channel;
    }
  }
  const auto metric_rows = pg_scalar(dsn, "SELECT count(*) FROM livestream_metrics");
  std::printf("load: %s metric rows, %d channels in %.1f s\n", metric_rows.c_str(), channels,
              seconds_since(t));
  t = Steady::now();
  pg_query(dsn, std::string("INSERT INTO stream_analytics_hourly (hour, livestream_id, "
                            "avg_viewers, peak_viewers, min_viewers, data_points, chat_messages, "
                            "avg_chatters, peak_chatters, avg_bitrate_kbps, min_bitrate_kbps, "
                            "max_bitrate_kbps) ") +
                    collector::analytics::full_recompute_sql());
  pg_query(dsn, "VACUUM ANALYZE");
  std::printf("hourly table: %s rows, analyzed in %.1f s\n",
              pg_scalar(dsn, "SELECT count(*) FROM stream_analytics_hourly").c_str(),
              seconds_since(t));

  auto web = start_web(dir, dsn, "[api]\nstats_window = \"5s\"\n");
  const auto port = web.port;
  // Warm-up: caches, the pool's connections.
  measure(port, "/api/v1/channels?limit=100", 20);

  // A page deep into the list: follow the cursor 100 pages of 100 (channel 10,000).
  std::string cursor;
  for (int page = 0; page < 100; ++page) {
    const auto j = nlohmann::json::parse(
        http_get(port, "/api/v1/channels?limit=100" + (cursor.empty() ? "" : "&cursor=" + cursor))
            .body);
    if (j["next_cursor"].is_null()) break;
    cursor = j["next_cursor"].get<std::string>();
  }

  const auto now = std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
  const auto month =
      "/api/v1/channels/1/series?from=" + format_rfc3339(now - std::chrono::days(30)) +
      "&to=" + format_rfc3339(now);
  const auto series = nlohmann::json::parse(http_get(port, month).body);

  struct Row {
    std::string name;
    std::string target;
  };
  const std::vector<Row> targets = {
      {"baseline /healthz", "/healthz"},
      {"stats (cached, 5 s window)", "/api/v1/stats"},
      {"channels page 1 by viewers", "/api/v1/channels?limit=100"},
      {"channels page 101 by viewers", "/api/v1/channels?limit=100&cursor=" + cursor},
      {"channels live, by name", "/api/v1/channels?limit=100&live=true&sort=name"},
      {"channels q=channel-1999", "/api/v1/channels?limit=100&q=channel-1999"},
      {"series 30 days (hourly)", month},
  };
  std::vector<Latency> results;
  results.reserve(std::size(targets));
  for (const auto& r : targets) results.push_back(measure(port, r.target, requests));
  const double base = results[0].p99_ms;
  std::printf("\n%-32s %10s %10s %14s\n", "endpoint", "p50 ms", "p99 ms", "p99 / baseline");
  for (std::size_t i = 0; i < targets.size(); ++i) {
    std::printf("%-32s %10.2f %10.2f %14.1f\n", targets[i].name.c_str(), results[i].p50_ms,
                results[i].p99_ms, results[i].p99_ms / base);
  }

  // The stats computation itself (what the cache saves, once per window) and the series'
  // alternative: aggregating 30 days of raw rows instead of the hourly table.
  const auto stats_sql_ms = timed_sql_ms(
      readonly(dsn),
      "SELECT count(*) FILTER (WHERE live), sum(viewers) FILTER (WHERE live), sum(chat_per_minute) "
      "FILTER (WHERE live), (SELECT count(*) FROM agents WHERE state = 'online'), (SELECT count(*) "
      "FROM alerts WHERE resolved_at IS NULL AND state = 'firing'), (SELECT max(total) FROM "
      "(SELECT sum(peak_viewers) AS total FROM stream_analytics_hourly WHERE hour >= "
      "date_trunc('day', now()) GROUP BY hour) h) FROM channel_current",
      21);
  const auto raw_ms = timed_sql_ms(
      readonly(dsn),
      "SELECT date_trunc('hour', \"timestamp\"), avg(viewer_count), sum(chat_messages), "
      "avg(bitrate_kbps), count(*) FROM livestream_metrics WHERE livestream_id = 1 AND "
      "\"timestamp\" >= now() - interval '30 days' GROUP BY 1",
      5);
  const auto hourly_ms = timed_sql_ms(
      readonly(dsn),
      "SELECT hour, avg_viewers FROM stream_analytics_hourly WHERE livestream_id = 1 AND hour >= "
      "now() - interval '30 days'",
      21);
  std::printf("\nstats computation (SQL, once per window): %.2f ms median\n", stats_sql_ms);
  std::printf(
      "series 30 days: %lld raw rows in the window; the reply aggregated %ld hourly rows "
      "into %zu points (step %ld s)\n",
      k_series_rows, series["source_rows"].get<std::int64_t>(), series["points"].size(),
      series["step_seconds"].get<std::int64_t>());
  std::printf("series 30 days SQL: raw rows %.2f ms vs hourly table %.2f ms (ratio %.1f)\n", raw_ms,
              hourly_ms, raw_ms / hourly_ms);
  web.process->stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return streamtrack::guarded_main("web_api_bench", [&] { return run_bench(argc, argv); });
}
