#pragma once

// Schema migration 10 (with collector/live/schema.hpp): a batch's metrics rows in one call of
// streamtrack_store_metrics().
//
// The arrays are parallel, one element per row, in the order of livestream_metrics' columns. The
// rows are stored with the dedup rule of docs/mqtt.md (a sample is (agent, seq) with its time, in
// its session: a resent one is stored once), and per (livestream, hour) they touched the
// aggregates of the rows stored (a resent row, not stored again, is not counted again) go into
// analytics_dirty for the analytics refresh (collector/analytics/schema.hpp).
//
// Resent samples are rare, and INSERT ... ON CONFLICT DO NOTHING pays for them on every row (a
// probe of the primary key and a speculative insertion, with a lock, before each row). So with
// p_plain the rows go in by a plain INSERT first, inside a subtransaction; a row already stored
// (unique_violation, also one a concurrent writer stored: the INSERT waits for its outcome as ON
// CONFLICT would) rolls the attempt back and the same rows go in by ON CONFLICT DO NOTHING. The
// function returns whether that happened, so that the caller can skip the plain attempt for a
// while (a resend burst) and pass p_plain = false. The statements' plans are cached per session.
namespace streamtrack::collector::store {

inline constexpr const char* k_store_metrics_schema_sql = R"sql(
CREATE FUNCTION streamtrack_store_metrics(
  p_livestream bigint[], p_timestamp timestamptz[], p_viewers integer[], p_chat_messages bigint[],
  p_chatters bigint[], p_bitrate double precision[], p_fps double precision[],
  p_dropped_frames bigint[], p_agent text[], p_seq bigint[], p_plain boolean)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  IF p_plain THEN
    BEGIN
      WITH stored AS (
        INSERT INTO livestream_metrics (livestream_id, "timestamp", viewer_count, chat_messages,
                                        chatters, bitrate_kbps, fps, dropped_frames, agent_id,
                                        seq)
        SELECT * FROM unnest(p_livestream, p_timestamp, p_viewers, p_chat_messages, p_chatters,
                             p_bitrate, p_fps, p_dropped_frames, p_agent, p_seq)
        RETURNING livestream_id, "timestamp", viewer_count, chat_messages, chatters,
                  bitrate_kbps
      )
      INSERT INTO analytics_dirty (livestream_id, hour, data_points, viewer_sum, viewer_n,
                                   min_viewers, peak_viewers, chat_messages, chatters_sum,
                                   chatters_n, peak_chatters, bitrate_sum, bitrate_n,
                                   min_bitrate_kbps, max_bitrate_kbps)
      SELECT livestream_id, date_trunc('hour', "timestamp" AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
             count(*), sum(viewer_count), count(viewer_count), min(viewer_count),
             max(viewer_count), sum(chat_messages), sum(chatters), count(chatters),
             max(chatters), sum(bitrate_kbps), count(bitrate_kbps), min(bitrate_kbps),
             max(bitrate_kbps)
      FROM stored
      GROUP BY 1, 2;
      RETURN false;
    EXCEPTION WHEN unique_violation THEN
      NULL;  -- a resent row: the same rows again, by ON CONFLICT DO NOTHING
    END;
  END IF;
  WITH stored AS (
    INSERT INTO livestream_metrics (livestream_id, "timestamp", viewer_count, chat_messages,
                                    chatters, bitrate_kbps, fps, dropped_frames, agent_id, seq)
    SELECT * FROM unnest(p_livestream, p_timestamp, p_viewers, p_chat_messages, p_chatters,
                         p_bitrate, p_fps, p_dropped_frames, p_agent, p_seq)
    ON CONFLICT (livestream_id, agent_id, seq, "timestamp") DO NOTHING
    RETURNING livestream_id, "timestamp", viewer_count, chat_messages, chatters, bitrate_kbps
  )
  INSERT INTO analytics_dirty (livestream_id, hour, data_points, viewer_sum, viewer_n,
                               min_viewers, peak_viewers, chat_messages, chatters_sum, chatters_n,
                               peak_chatters, bitrate_sum, bitrate_n, min_bitrate_kbps,
                               max_bitrate_kbps)
  SELECT livestream_id, date_trunc('hour', "timestamp" AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
         count(*), sum(viewer_count), count(viewer_count), min(viewer_count), max(viewer_count),
         sum(chat_messages), sum(chatters), count(chatters), max(chatters), sum(bitrate_kbps),
         count(bitrate_kbps), min(bitrate_kbps), max(bitrate_kbps)
  FROM stored
  GROUP BY 1, 2;
  RETURN p_plain;
END $$;
-- Only its owner (the collector's role) writes metrics.
REVOKE ALL ON FUNCTION streamtrack_store_metrics FROM PUBLIC;
)sql";

}  // namespace streamtrack::collector::store
