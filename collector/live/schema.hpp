#pragma once

// Schema migration 3: what the read side (streamtrack-web) needs, kept by triggers inside the
// collector's own write transactions, so readers never scan livestream_metrics for "now" and
// announcements leave only with the commit.
//
// - channel_current: one row per channel with its newest committed figures (a row is created
//   with the channel; the metrics statement trigger moves it forward, never back in time);
//   figures are NULL while the channel is offline.
// - livestream_changes: title and category history of each session (one row per change).
// - NOTIFY streamtrack_live: after each INSERT statement into livestream_metrics (one per
//   batch), the channels whose current figures moved, as a JSON array of at most 40 compact
//   objects per notification (PostgreSQL caps a payload at 8000 bytes):
//     {"c":channel_id,"s":session_id,"t":"<RFC 3339>","v":viewers,"m":chat_messages,
//      "r":chat_per_minute,"b":bitrate_kbps,"a":live}
//   and, when a session closes, the same object with "a":false. PostgreSQL delivers
//   notifications only when (and if) the transaction commits.
namespace streamtrack::collector::live {

inline constexpr const char* k_live_notify_channel = "streamtrack_live";

inline constexpr const char* k_read_side_schema_sql = R"sql(
CREATE TABLE channel_current (
  channel_id      bigint PRIMARY KEY REFERENCES channels (id),
  platform        text NOT NULL,
  name            text NOT NULL,
  livestream_id   bigint,
  live            boolean NOT NULL DEFAULT false,
  last_sample_at  timestamptz,
  viewers         integer,
  chat_messages   bigint,
  chat_per_minute double precision,
  bitrate_kbps    double precision
);
-- Keyset paging for each sort order of GET /api/v1/channels (both directions scan one index).
CREATE INDEX channel_current_viewers_idx ON channel_current ((coalesce(viewers, -1)), channel_id);
CREATE INDEX channel_current_name_idx ON channel_current (name, channel_id);
CREATE INDEX channel_current_last_sample_idx
  ON channel_current ((coalesce(last_sample_at, '-infinity'::timestamptz)), channel_id);
CREATE INDEX channel_current_live_idx ON channel_current ((coalesce(viewers, -1)), channel_id)
  WHERE live;

CREATE TABLE livestream_changes (
  id            bigserial PRIMARY KEY,
  livestream_id bigint NOT NULL REFERENCES livestreams (id),
  at            timestamptz NOT NULL,
  title         text,
  category      text
);
CREATE INDEX livestream_changes_session_idx ON livestream_changes (livestream_id, at, id);

-- For GET /api/v1/channels/{id}/sessions: newest first per channel.
CREATE INDEX livestreams_channel_started_idx ON livestreams (channel_id, started_at DESC, id DESC);
-- For open alerts and the recent ones.
CREATE INDEX alerts_open_state_idx ON alerts (state) WHERE resolved_at IS NULL;
CREATE INDEX alerts_resolved_idx ON alerts (resolved_at) WHERE resolved_at IS NOT NULL;

INSERT INTO channel_current (channel_id, platform, name, livestream_id, live, last_sample_at,
                             viewers, chat_messages, bitrate_kbps)
SELECT c.id, c.platform, c.name, l.id, coalesce(l.is_active, false), m."timestamp",
       CASE WHEN l.is_active THEN m.viewer_count END,
       CASE WHEN l.is_active THEN m.chat_messages END,
       CASE WHEN l.is_active THEN m.bitrate_kbps END
FROM channels c
LEFT JOIN LATERAL (SELECT id, is_active FROM livestreams
                   WHERE channel_id = c.id ORDER BY last_sample_at DESC LIMIT 1) l ON true
LEFT JOIN LATERAL (SELECT "timestamp", viewer_count, chat_messages, bitrate_kbps
                   FROM livestream_metrics WHERE livestream_id = l.id
                   ORDER BY "timestamp" DESC LIMIT 1) m ON true;

INSERT INTO livestream_changes (livestream_id, at, title, category)
SELECT id, started_at, title, category FROM livestreams
WHERE title IS NOT NULL OR category IS NOT NULL;

CREATE FUNCTION streamtrack_channel_created() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO channel_current (channel_id, platform, name) VALUES (NEW.id, NEW.platform, NEW.name)
  ON CONFLICT (channel_id) DO NOTHING;
  RETURN NULL;
END $$;
CREATE TRIGGER channels_current AFTER INSERT ON channels
  FOR EACH ROW EXECUTE FUNCTION streamtrack_channel_created();

CREATE FUNCTION streamtrack_session_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO livestream_changes (livestream_id, at, title, category)
  VALUES (NEW.id, CASE WHEN TG_OP = 'INSERT' THEN NEW.started_at ELSE NEW.last_sample_at END,
          NEW.title, NEW.category);
  RETURN NULL;
END $$;
CREATE TRIGGER livestreams_title_inserted AFTER INSERT ON livestreams
  FOR EACH ROW WHEN (NEW.title IS NOT NULL OR NEW.category IS NOT NULL)
  EXECUTE FUNCTION streamtrack_session_changed();
CREATE TRIGGER livestreams_title_changed AFTER UPDATE OF title, category ON livestreams
  FOR EACH ROW WHEN (OLD.title IS DISTINCT FROM NEW.title
                     OR OLD.category IS DISTINCT FROM NEW.category)
  EXECUTE FUNCTION streamtrack_session_changed();

CREATE FUNCTION streamtrack_metrics_committed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  items json[];
  n integer;
BEGIN
  WITH ranked AS (
    SELECT l.channel_id, l.id AS livestream_id, l.is_active, r."timestamp", r.viewer_count,
           r.chat_messages, r.bitrate_kbps,
           lag(r."timestamp") OVER (PARTITION BY l.channel_id ORDER BY r."timestamp")
             AS previous_in_batch,
           row_number() OVER (PARTITION BY l.channel_id ORDER BY r."timestamp" DESC) AS newest
    FROM new_rows r JOIN livestreams l ON l.id = r.livestream_id
  ), moved AS (
    -- The chat rate spans the gap to the channel's previous sample (in this batch or before).
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
             / extract(epoch FROM n."timestamp" - greatest(n.previous_in_batch, cc.last_sample_at))
        END
    FROM ranked n
    WHERE n.newest = 1 AND cc.channel_id = n.channel_id
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
    PERFORM pg_notify('streamtrack_live', array_to_json(items[i * 40 + 1 : (i + 1) * 40])::text);
  END LOOP;
  RETURN NULL;
END $$;
CREATE TRIGGER livestream_metrics_committed AFTER INSERT ON livestream_metrics
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION streamtrack_metrics_committed();

CREATE FUNCTION streamtrack_session_closed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  item json;
BEGIN
  -- Offline, a channel has no current figures (unknown, not zero).
  UPDATE channel_current SET live = false, viewers = NULL, chat_messages = NULL,
                             chat_per_minute = NULL, bitrate_kbps = NULL
  WHERE channel_id = NEW.channel_id AND livestream_id = NEW.id AND live;
  IF FOUND THEN
    SELECT json_build_object(
             'c', channel_id, 's', livestream_id,
             't', to_char(coalesce(NEW.ended_at, last_sample_at) AT TIME ZONE 'UTC',
                          'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
             'v', NULL, 'm', NULL, 'r', NULL, 'b', NULL, 'a', false)
    INTO item FROM channel_current WHERE channel_id = NEW.channel_id;
    PERFORM pg_notify('streamtrack_live', json_build_array(item)::text);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER livestreams_closed AFTER UPDATE OF is_active ON livestreams
  FOR EACH ROW WHEN (OLD.is_active AND NOT NEW.is_active)
  EXECUTE FUNCTION streamtrack_session_closed();
)sql";

// Schema migration 10: channel_current's updates stay HOT.
//
// Every batch moves channel_current's row of each channel it wrote (viewers, last_sample_at,
// live...). With those columns in an index, each move was a non-HOT update: a new entry in
// every index of the table, and the dead ones cleaned up later (a third of the server's CPU
// per ingested row in bench/collector_ingest). The table holds one row per channel (thousands),
// so GET /api/v1/channels sorts it at query time instead (a top-N sort of a few thousand rows):
// the indexes on the moving columns go, only those on the channel id and the name (which never
// change) stay, and room on each page (fillfactor: a row and two more versions of it) keeps the
// new version on the same page, also while a snapshot briefly keeps the last one from being
// pruned. (A thousand channels take about 40 pages.)
// The query and its results are unchanged; rows written before this migration move to a page
// with room on their next update, and stay HOT from then on.
inline constexpr const char* k_channel_current_hot_sql = R"sql(
DROP INDEX channel_current_viewers_idx;
DROP INDEX channel_current_last_sample_idx;
DROP INDEX channel_current_live_idx;
ALTER TABLE channel_current SET (fillfactor = 30);
)sql";

// Schema migration 11 (with collector/store/metrics_schema.hpp): channel_current moved by the
// writer's own statement.
//
// The statement trigger of migration 3 joined every row a batch stored to its session and sorted
// them twice per channel to find each channel's newest row and the time before it: a quarter of
// the server's CPU per ingested row in bench/pg_store. The collector knows both per channel (it
// groups a batch's samples by channel), so streamtrack_store_metrics (its overload of migration
// 11) moves channel_current itself from one element per channel, with the same UPDATE and the
// same notifications, when all of the batch's rows were stored (a plain INSERT). While its INSERT
// runs, the transaction-local setting streamtrack.channel_current_written is 'on' and the
// trigger, which still serves every other INSERT (the ON CONFLICT path, a resend, a collector
// of an earlier version during an upgrade, any other writer), leaves those rows to it.
inline constexpr const char* k_channel_current_from_writer_sql = R"sql(
CREATE OR REPLACE FUNCTION streamtrack_metrics_committed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  items json[];
  n integer;
BEGIN
  IF current_setting('streamtrack.channel_current_written', true) = 'on' THEN
    RETURN NULL;
  END IF;
  WITH ranked AS (
    SELECT l.channel_id, l.id AS livestream_id, l.is_active, r."timestamp", r.viewer_count,
           r.chat_messages, r.bitrate_kbps,
           lag(r."timestamp") OVER (PARTITION BY l.channel_id ORDER BY r."timestamp")
             AS previous_in_batch,
           row_number() OVER (PARTITION BY l.channel_id ORDER BY r."timestamp" DESC) AS newest
    FROM new_rows r JOIN livestreams l ON l.id = r.livestream_id
  ), moved AS (
    -- The chat rate spans the gap to the channel's previous sample (in this batch or before).
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
             / extract(epoch FROM n."timestamp" - greatest(n.previous_in_batch, cc.last_sample_at))
        END
    FROM ranked n
    WHERE n.newest = 1 AND cc.channel_id = n.channel_id
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
    PERFORM pg_notify('streamtrack_live', array_to_json(items[i * 40 + 1 : (i + 1) * 40])::text);
  END LOOP;
  RETURN NULL;
END $$;
)sql";

}  // namespace streamtrack::collector::live
