#pragma once

#include <string>

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

// Schema migration 11 (with collector/live/schema.hpp): an overload of streamtrack_store_metrics
// that also moves channel_current, from one element per channel of the batch.
//
// p_current_* are parallel, one element per channel: its newest row of the batch (session,
// time, viewers, chat messages, bitrate; of rows with the same time, the first in the arrays) and
// the latest earlier time of its rows in the batch (NULL when none). With p_plain, and when
// every row was stored by the plain INSERT, channel_current moves as migration 3's trigger would
// have moved it from the same rows (same UPDATE, same notifications) while the trigger leaves
// them; otherwise (ON CONFLICT DO NOTHING, some rows not stored) the trigger does it from the rows
// actually stored, as before. The result is the same as the first overload's.
inline constexpr const char* k_store_metrics_with_current_sql = R"sql(
CREATE FUNCTION streamtrack_store_metrics(
  p_livestream bigint[], p_timestamp timestamptz[], p_viewers integer[], p_chat_messages bigint[],
  p_chatters bigint[], p_bitrate double precision[], p_fps double precision[],
  p_dropped_frames bigint[], p_agent text[], p_seq bigint[], p_plain boolean,
  p_current_channel bigint[], p_current_livestream bigint[], p_current_timestamp timestamptz[],
  p_current_previous timestamptz[], p_current_viewers integer[],
  p_current_chat_messages bigint[], p_current_bitrate double precision[])
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  items json[];
  n integer;
BEGIN
  IF p_plain THEN
    BEGIN
      PERFORM set_config('streamtrack.channel_current_written', 'on', true);
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
      PERFORM set_config('streamtrack.channel_current_written', '', true);
      -- Migration 3's trigger, from the channels' newest rows the caller found.
      WITH moved AS (
        UPDATE channel_current cc SET
          livestream_id = n.livestream_id, live = n.is_active, last_sample_at = n."timestamp",
          viewers = CASE WHEN n.is_active THEN n.viewer_count END,
          chat_messages = CASE WHEN n.is_active THEN n.chat_messages END,
          bitrate_kbps = CASE WHEN n.is_active THEN n.bitrate_kbps END,
          chat_per_minute = CASE
            WHEN n.is_active AND n.chat_messages IS NOT NULL
                 AND greatest(n.previous_in_batch, cc.last_sample_at) < n."timestamp"
                 AND n."timestamp" - greatest(n.previous_in_batch, cc.last_sample_at)
                     <= interval '10 minutes'
            THEN n.chat_messages * 60.0
                 / extract(epoch FROM n."timestamp"
                                      - greatest(n.previous_in_batch, cc.last_sample_at))
            END
        FROM (SELECT u.*, l.is_active
              FROM unnest(p_current_channel, p_current_livestream, p_current_timestamp,
                          p_current_previous, p_current_viewers, p_current_chat_messages,
                          p_current_bitrate)
                AS u (channel_id, livestream_id, "timestamp", previous_in_batch, viewer_count,
                      chat_messages, bitrate_kbps)
              JOIN livestreams l ON l.id = u.livestream_id) n
        WHERE cc.channel_id = n.channel_id
          AND (cc.last_sample_at IS NULL OR n."timestamp" >= cc.last_sample_at)
        RETURNING cc.*
      )
      SELECT array_agg(json_build_object(
               'c', channel_id, 's', livestream_id,
               't', to_char(last_sample_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
               'v', viewers, 'm', chat_messages, 'r', chat_per_minute, 'b', bitrate_kbps,
               'a', live) ORDER BY channel_id)
      INTO items FROM moved;
      n := coalesce(array_length(items, 1), 0);
      FOR i IN 0 .. (n - 1) / 40 LOOP
        EXIT WHEN n = 0;
        PERFORM pg_notify('streamtrack_live',
                          array_to_json(items[i * 40 + 1 : (i + 1) * 40])::text);
      END LOOP;
      RETURN false;
    EXCEPTION WHEN unique_violation THEN
      NULL;  -- a resent row: the same rows again, by ON CONFLICT DO NOTHING
    END;
  END IF;
  PERFORM set_config('streamtrack.channel_current_written', '', true);
  RETURN streamtrack_store_metrics(p_livestream, p_timestamp, p_viewers, p_chat_messages,
                                   p_chatters, p_bitrate, p_fps, p_dropped_frames, p_agent, p_seq,
                                   false) OR p_plain;
END $$;
REVOKE ALL ON FUNCTION streamtrack_store_metrics(
  bigint[], timestamptz[], integer[], bigint[], bigint[], double precision[], double precision[],
  bigint[], text[], bigint[], boolean, bigint[], bigint[], timestamptz[], timestamptz[], integer[],
  bigint[], double precision[]) FROM PUBLIC;
)sql";

// Schema migration 12: the same two functions (migrations 10 and 11), their rows read from
// the arrays by unnest() in the select list rather than in FROM. A multi-argument unnest in FROM
// is a function scan, which first copies every array's elements into a tuplestore of its own
// and then reads them back; in the select list each array is read element by element (a
// ProjectSet, in lockstep: the same rows in the same order, NULL-padded alike). In
// bench/backlog_drain that was about an eighth of the server's CPU per stored row. Built from
// the texts of migrations 10 and 11, so the functions differ in nothing else; throws
// std::logic_error if those texts no longer hold what it replaces.
std::string store_metrics_rows_in_select_list_sql();
// Migration 12's REVOKE of migration 10's function, by its signature.
inline constexpr const char* k_store_metrics_revoke_sql =
    "REVOKE ALL ON FUNCTION streamtrack_store_metrics(bigint[], timestamptz[], integer[], "
    "bigint[], bigint[], double precision[], double precision[], bigint[], text[], bigint[], "
    "boolean) FROM PUBLIC;";

}  // namespace streamtrack::collector::store
