#include <nlohmann/json.hpp>

#include "web/api/api.hpp"
#include "web/api/params.hpp"
#include "web/api/reply.hpp"

// GET /api/v1/stats: the figures of the overview, cached per window (StatsCache).
namespace streamtrack::web::api {

using nlohmann::json;

StatsSnapshot Api::compute_stats() {
  auto conn = m_pool.acquire();
  const auto r = conn->query(R"sql(
SELECT count(*) FILTER (WHERE live),
       coalesce(sum(viewers) FILTER (WHERE live), 0),
       coalesce(sum(chat_per_minute) FILTER (WHERE live), 0),
       (SELECT count(*) FROM agents WHERE state = 'online'),
       (SELECT count(*) FROM alerts WHERE resolved_at IS NULL AND state = 'firing'),
       (SELECT max(total) FROM (SELECT sum(peak_viewers) AS total FROM stream_analytics_hourly
                                WHERE hour >= date_trunc('day', now()) GROUP BY hour) AS hours),
       )sql" ST_TS("now()") R"sql(
FROM channel_current
)sql");
  const auto viewers = r.integer(0, 1);
  const auto peak = r.is_null(0, 5) ? viewers : std::max(viewers, r.integer(0, 5));
  json figures{{"live_channels", r.integer(0, 0)}, {"viewers_now", viewers},
               {"peak_viewers_today", peak},       {"chat_per_minute", r.real(0, 2)},
               {"agents_online", r.integer(0, 3)}, {"open_alerts", r.integer(0, 4)}};
  StatsSnapshot s;
  s.figures = dump(figures);
  s.etag = weak_etag(s.figures);
  figures["generated_at"] = r.text(0, 6);
  s.body = dump(figures);
  return s;
}

Response Api::get_stats(const Request& request) {
  Query query(request.raw_query, {});
  const auto snapshot = m_stats.get();
  const auto max_age = std::max<std::int64_t>(
      1, std::chrono::duration_cast<std::chrono::seconds>(m_options.stats_window).count());
  Response r;
  if (etag_matches(request.header("if-none-match"), snapshot->etag)) {
    r.status = 304;
  } else {
    r.body = snapshot->body;
  }
  r.headers.emplace_back("Cache-Control",
                         "public, max-age=" + std::to_string(max_age) + ", s-maxage=60");
  r.headers.emplace_back("ETag", snapshot->etag);
  return r;
}

}  // namespace streamtrack::web::api
