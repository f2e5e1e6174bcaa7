#include "collector/analytics/hourly.hpp"

#include <string>

#include "collector/store/lock_keys.hpp"

namespace streamtrack::collector::analytics {

namespace {

// Merges the writers' partial aggregates into the hourly rows; reads no raw row. Leaves the
// partials of an hour that must be recomputed (a mark without aggregates, or an hourly row
// without sums) to the recompute. Returns one row: the hourly rows written, and the rows of
// analytics_dirty it saw and left (so the recompute runs only when there are some; partials
// committed meanwhile wait for the next refresh).
constexpr const char* k_merge_head = R"sql(
WITH marked AS (
  DELETE FROM analytics_dirty d
  WHERE d.data_points IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM analytics_dirty r
                    WHERE r.livestream_id = d.livestream_id AND r.hour = d.hour
                      AND r.data_points IS NULL)
    -- OFFSET 0 keeps this a probe of the primary key per partial: as an anti-join the planner
    -- may hash the whole hourly table, whose size grows with the history.
    AND NOT EXISTS (SELECT 1 FROM stream_analytics_hourly o
                    WHERE o.livestream_id = d.livestream_id AND o.hour = d.hour
                      AND o.viewer_n IS NULL OFFSET 0)
  RETURNING d.*
), partial AS (
  SELECT livestream_id, hour, sum(data_points) AS data_points, sum(viewer_sum) AS viewer_sum,
         sum(viewer_n) AS viewer_n, min(min_viewers) AS min_viewers,
         max(peak_viewers) AS peak_viewers, sum(chat_messages) AS chat_messages,
         sum(chatters_sum) AS chatters_sum, sum(chatters_n) AS chatters_n,
         max(peak_chatters) AS peak_chatters, sum(bitrate_sum) AS bitrate_sum,
         sum(bitrate_n) AS bitrate_n, min(min_bitrate_kbps) AS min_bitrate_kbps,
         max(max_bitrate_kbps) AS max_bitrate_kbps
  FROM marked GROUP BY livestream_id, hour
), merged AS (
  -- A sum absent on one side (no row yet, or no non-null value) is the other side's.
  SELECT p.hour, p.livestream_id, coalesce(o.data_points, 0) + p.data_points AS data_points,
         coalesce(o.viewer_sum + p.viewer_sum, o.viewer_sum, p.viewer_sum) AS viewer_sum,
         coalesce(o.viewer_n, 0) + p.viewer_n AS viewer_n,
         least(o.min_viewers, p.min_viewers) AS min_viewers,
         greatest(o.peak_viewers, p.peak_viewers) AS peak_viewers,
         coalesce(o.chat_messages + p.chat_messages, o.chat_messages, p.chat_messages)
           AS chat_messages,
         coalesce(o.chatters_sum + p.chatters_sum, o.chatters_sum, p.chatters_sum) AS chatters_sum,
         coalesce(o.chatters_n, 0) + p.chatters_n AS chatters_n,
         greatest(o.peak_chatters, p.peak_chatters) AS peak_chatters,
         coalesce(o.bitrate_sum + p.bitrate_sum, o.bitrate_sum, p.bitrate_sum) AS bitrate_sum,
         coalesce(o.bitrate_n, 0) + p.bitrate_n AS bitrate_n,
         least(o.min_bitrate_kbps, p.min_bitrate_kbps) AS min_bitrate_kbps,
         greatest(o.max_bitrate_kbps, p.max_bitrate_kbps) AS max_bitrate_kbps
  FROM partial p
  -- LATERAL with LIMIT: one probe of the primary key per hour (see above).
  LEFT JOIN LATERAL (SELECT * FROM stream_analytics_hourly x
                     WHERE x.livestream_id = p.livestream_id AND x.hour = p.hour LIMIT 1) o ON true
), written AS (
INSERT INTO stream_analytics_hourly AS h
  (hour, livestream_id, avg_viewers, peak_viewers, min_viewers, data_points, chat_messages,
   avg_chatters, peak_chatters, avg_bitrate_kbps, min_bitrate_kbps, max_bitrate_kbps,
   viewer_sum, viewer_n, chatters_sum, chatters_n, bitrate_sum, bitrate_n, refreshed_at)
-- The averages as avg() computes them: numeric sum / count for integers, float sum / count.
SELECT hour, livestream_id,
       (viewer_sum::numeric / nullif(viewer_n, 0))::double precision, peak_viewers, min_viewers,
       data_points::integer, chat_messages::bigint,
       (chatters_sum / nullif(chatters_n, 0))::double precision, peak_chatters,
       bitrate_sum / nullif(bitrate_n, 0), min_bitrate_kbps, max_bitrate_kbps, viewer_sum,
       viewer_n::integer, chatters_sum, chatters_n::integer, bitrate_sum, bitrate_n::integer,
       now()
FROM merged
)sql";

constexpr const char* k_merge_tail = R"sql(RETURNING 1
)
-- Every part of one statement reads the same snapshot: analytics_dirty as before the DELETE.
SELECT (SELECT count(*) FROM written),
       (SELECT count(*) FROM analytics_dirty) - (SELECT count(*) FROM marked)
)sql";

// Recomputes from the raw rows the hours the merge leaves (their partials, if any, are rows this
// statement reads anyway), writing the sums that let later partials merge.
constexpr const char* k_recompute_head = R"sql(
WITH redo AS (
  SELECT livestream_id, hour FROM analytics_dirty WHERE data_points IS NULL
  UNION
  SELECT d.livestream_id, d.hour FROM analytics_dirty d
  WHERE EXISTS (SELECT 1 FROM stream_analytics_hourly o
                WHERE o.livestream_id = d.livestream_id AND o.hour = d.hour
                  AND o.viewer_n IS NULL OFFSET 0)
), marked AS (
  DELETE FROM analytics_dirty d USING redo
  WHERE d.livestream_id = redo.livestream_id AND d.hour = redo.hour
  RETURNING d.livestream_id, d.hour
),
touched AS (SELECT DISTINCT livestream_id, hour FROM marked)
INSERT INTO stream_analytics_hourly AS h
  (hour, livestream_id, avg_viewers, peak_viewers, min_viewers, data_points, chat_messages,
   avg_chatters, peak_chatters, avg_bitrate_kbps, min_bitrate_kbps, max_bitrate_kbps,
   viewer_sum, viewer_n, chatters_sum, chatters_n, bitrate_sum, bitrate_n, refreshed_at)
SELECT t.hour, t.livestream_id, a.avg_viewers, a.peak_viewers, a.min_viewers, a.data_points,
       a.chat_messages, a.avg_chatters, a.peak_chatters, a.avg_bitrate_kbps,
       a.min_bitrate_kbps, a.max_bitrate_kbps, a.viewer_sum, a.viewer_n, a.chatters_sum,
       a.chatters_n, a.bitrate_sum, a.bitrate_n, now()
FROM touched t
-- One index range scan per marked hour (LATERAL): with a plain join the planner may merge-join
-- over the whole (livestream_id, "timestamp") index, a cost that grows with the history.
CROSS JOIN LATERAL (
  SELECT avg(m.viewer_count)::double precision AS avg_viewers, max(m.viewer_count) AS peak_viewers,
         min(m.viewer_count) AS min_viewers, count(*)::integer AS data_points,
         sum(m.chat_messages)::bigint AS chat_messages,
         avg(m.chatters)::double precision AS avg_chatters, max(m.chatters) AS peak_chatters,
         avg(m.bitrate_kbps) AS avg_bitrate_kbps, min(m.bitrate_kbps) AS min_bitrate_kbps,
         max(m.bitrate_kbps) AS max_bitrate_kbps, sum(m.viewer_count) AS viewer_sum,
         count(m.viewer_count)::integer AS viewer_n, sum(m.chatters) AS chatters_sum,
         count(m.chatters)::integer AS chatters_n, sum(m.bitrate_kbps) AS bitrate_sum,
         count(m.bitrate_kbps)::integer AS bitrate_n
  FROM livestream_metrics m
  WHERE m.livestream_id = t.livestream_id
    AND m."timestamp" >= t.hour AND m."timestamp" < t.hour + interval '1 hour'
) a
WHERE a.data_points > 0
)sql";

// Both statements write every column of the hourly row, the sums included: migration 9's
// trigger reads an update that changes data_points without the sums' counts as an older
// collector's, so neither may leave a column out.
constexpr const char* k_upsert_every_column = R"sql(ON CONFLICT (livestream_id, hour) DO UPDATE SET
  avg_viewers = excluded.avg_viewers, peak_viewers = excluded.peak_viewers,
  min_viewers = excluded.min_viewers, data_points = excluded.data_points,
  chat_messages = excluded.chat_messages, avg_chatters = excluded.avg_chatters,
  peak_chatters = excluded.peak_chatters, avg_bitrate_kbps = excluded.avg_bitrate_kbps,
  min_bitrate_kbps = excluded.min_bitrate_kbps, max_bitrate_kbps = excluded.max_bitrate_kbps,
  viewer_sum = excluded.viewer_sum, viewer_n = excluded.viewer_n,
  chatters_sum = excluded.chatters_sum, chatters_n = excluded.chatters_n,
  bitrate_sum = excluded.bitrate_sum, bitrate_n = excluded.bitrate_n,
  refreshed_at = excluded.refreshed_at
)sql";

const std::string& merge_sql() {
  static const std::string sql = std::string(k_merge_head) + k_upsert_every_column + k_merge_tail;
  return sql;
}

const std::string& recompute_sql() {
  static const std::string sql = std::string(k_recompute_head) + k_upsert_every_column;
  return sql;
}

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
    // A refresh's statements touch a few thousand rows and take milliseconds; compiling them
    // with LLVM, which PostgreSQL does again at every execution, takes tens, and whether the
    // server compiles hangs on estimates of analytics_dirty, a queue whose size swings between
    // vacuums. Off for this transaction only (also when it fails: SET LOCAL ends with it).
    conn.exec("SET LOCAL jit = off");
    const auto merge = conn.exec(merge_sql());
    auto n = std::stoll(merge.text(0, 0));
    // Only then: planning k_recompute alone locks livestream_metrics.
    if (merge.text(0, 1) != "0") n += conn.exec(recompute_sql()).affected();
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
