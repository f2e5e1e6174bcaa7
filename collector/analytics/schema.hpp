#pragma once

// Schema migration 9: hourly analytics merged from the writers' partial aggregates.
//
// A writer's batch statement no longer only marks the (livestream, hour) pairs it touched: each
// row of analytics_dirty carries the aggregates of the rows that batch stored in that hour
// (count, sums and counts of the non-null values, minima and maxima). A refresh merges them into
// stream_analytics_hourly without reading livestream_metrics, so its cost follows the number of
// batches since the last refresh, not the history.
//
// stream_analytics_hourly keeps what a merge needs besides the published columns: the sums and
// counts of the non-null viewer, chatter and bitrate values (an average cannot be merged
// without them), and leaves room on its pages for updates that stay HOT. NULL counts mark a
// row written before this migration; a refresh recomputes such an hour from the raw rows once,
// when it is next touched. An analytics_dirty row whose data_points is NULL (written by a
// collector of an older version during an upgrade) asks for the same recomputation of its hour.
namespace streamtrack::collector::analytics {

inline constexpr const char* k_partial_aggregates_schema_sql = R"sql(
ALTER TABLE analytics_dirty
  ADD COLUMN data_points integer,
  ADD COLUMN viewer_sum bigint,
  ADD COLUMN viewer_n integer,
  ADD COLUMN min_viewers integer,
  ADD COLUMN peak_viewers integer,
  ADD COLUMN chat_messages numeric,
  ADD COLUMN chatters_sum numeric,
  ADD COLUMN chatters_n integer,
  ADD COLUMN peak_chatters bigint,
  ADD COLUMN bitrate_sum double precision,
  ADD COLUMN bitrate_n integer,
  ADD COLUMN min_bitrate_kbps double precision,
  ADD COLUMN max_bitrate_kbps double precision;

ALTER TABLE stream_analytics_hourly
  ADD COLUMN viewer_sum bigint,
  ADD COLUMN viewer_n integer,
  ADD COLUMN chatters_sum numeric,
  ADD COLUMN chatters_n integer,
  ADD COLUMN bitrate_sum double precision,
  ADD COLUMN bitrate_n integer;
-- A refresh rewrites the rows of the current hour again and again without changing a key: room
-- on their pages lets those updates stay HOT (no new entries in either index).
ALTER TABLE stream_analytics_hourly SET (fillfactor = 70);

-- A collector of the previous version, still running during an upgrade, refreshes an hour from
-- the raw rows without knowing the sums: data_points changes and the sums stay as they were,
-- describing fewer rows than the hour has. Such an update clears viewer_n, which sends the hour
-- to the next refresh's recomputation instead of a merge onto stale sums. (A merge of rows
-- without any figure looks alike and costs one recomputation, never a wrong value.)
CREATE FUNCTION streamtrack_hourly_sums_follow_points() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.data_points IS DISTINCT FROM OLD.data_points
     AND NEW.viewer_n IS NOT DISTINCT FROM OLD.viewer_n
     AND NEW.chatters_n IS NOT DISTINCT FROM OLD.chatters_n
     AND NEW.bitrate_n IS NOT DISTINCT FROM OLD.bitrate_n THEN
    NEW.viewer_n := NULL;
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER stream_analytics_hourly_sums_follow_points
  BEFORE UPDATE ON stream_analytics_hourly
  FOR EACH ROW EXECUTE FUNCTION streamtrack_hourly_sums_follow_points();
)sql";

}  // namespace streamtrack::collector::analytics
