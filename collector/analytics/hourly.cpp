#include "collector/analytics/hourly.hpp"

#include "collector/store/lock_keys.hpp"

namespace streamtrack::collector::analytics {

namespace {

constexpr const char* k_refresh = R"sql(
WITH marked AS (DELETE FROM analytics_dirty RETURNING livestream_id, hour),
touched AS (SELECT DISTINCT livestream_id, hour FROM marked)
INSERT INTO stream_analytics_hourly AS h
  (hour, livestream_id, avg_viewers, peak_viewers, min_viewers, data_points, chat_messages,
   avg_chatters, peak_chatters, avg_bitrate_kbps, min_bitrate_kbps, max_bitrate_kbps,
   refreshed_at)
SELECT t.hour, t.livestream_id, a.avg_viewers, a.peak_viewers, a.min_viewers, a.data_points,
       a.chat_messages, a.avg_chatters, a.peak_chatters, a.avg_bitrate_kbps,
       a.min_bitrate_kbps, a.max_bitrate_kbps, now()
FROM touched t
-- One index range scan per marked hour (LATERAL): with a plain join the planner may merge-join
-- over the whole (livestream_id, "timestamp") index, a cost that grows with the history.
CROSS JOIN LATERAL (
  SELECT avg(m.viewer_count)::double precision AS avg_viewers, max(m.viewer_count) AS peak_viewers,
         min(m.viewer_count) AS min_viewers, count(*)::integer AS data_points,
         sum(m.chat_messages)::bigint AS chat_messages,
         avg(m.chatters)::double precision AS avg_chatters, max(m.chatters) AS peak_chatters,
         avg(m.bitrate_kbps) AS avg_bitrate_kbps, min(m.bitrate_kbps) AS min_bitrate_kbps,
         max(m.bitrate_kbps) AS max_bitrate_kbps
  FROM livestream_metrics m
  WHERE m.livestream_id = t.livestream_id
    AND m."timestamp" >= t.hour AND m."timestamp" < t.hour + interval '1 hour'
) a
WHERE a.data_points > 0
ON CONFLICT (livestream_id, hour) DO UPDATE SET
  avg_viewers = excluded.avg_viewers, peak_viewers = excluded.peak_viewers,
  min_viewers = excluded.min_viewers, data_points = excluded.data_points,
  chat_messages = excluded.chat_messages, avg_chatters = excluded.avg_chatters,
  peak_chatters = excluded.peak_chatters, avg_bitrate_kbps = excluded.avg_bitrate_kbps,
  min_bitrate_kbps = excluded.min_bitrate_kbps, max_bitrate_kbps = excluded.max_bitrate_kbps,
  refreshed_at = excluded.refreshed_at
)sql";

}  // namespace

std::int64_t refresh_hourly(store::PgConnection& conn) {
  conn.exec("BEGIN");
  try {
    if (conn.exec("SELECT pg_try_advisory_xact_lock(" +
                  store::lock_keys::text(store::lock_keys::k_analytics_refresh) + ")")
            .text(0, 0) != "t") {
      conn.exec("COMMIT");
      return 0;
    }
    const auto n = conn.exec(k_refresh).affected();
    conn.exec("COMMIT");
    return n;
  } catch (...) {
    if (conn.healthy()) conn.exec("ROLLBACK");
    throw;
  }
}

const char* full_recompute_sql() {
  return R"sql(
SELECT date_trunc('hour', m."timestamp" AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour,
       m.livestream_id, avg(m.viewer_count)::double precision AS avg_viewers,
       max(m.viewer_count) AS peak_viewers, min(m.viewer_count) AS min_viewers,
       count(*)::integer AS data_points, sum(m.chat_messages)::bigint AS chat_messages,
       avg(m.chatters)::double precision AS avg_chatters, max(m.chatters) AS peak_chatters,
       avg(m.bitrate_kbps) AS avg_bitrate_kbps, min(m.bitrate_kbps) AS min_bitrate_kbps,
       max(m.bitrate_kbps) AS max_bitrate_kbps
FROM livestream_metrics m
GROUP BY 1, 2
)sql";
}

}  // namespace streamtrack::collector::analytics
