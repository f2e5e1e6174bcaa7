#include "collector/store/migrations.hpp"

#include <regex>
#include <stdexcept>

#include "collector/alerts/schema.hpp"
#include "collector/analytics/schema.hpp"
#include "collector/live/schema.hpp"
#include "collector/sessions/schema.hpp"
#include "collector/store/lock_keys.hpp"
#include "collector/store/metrics_schema.hpp"
#include "collector/views/schema.hpp"

namespace streamtrack::collector::store {

namespace {

const std::string k_lock_key = lock_keys::text(lock_keys::k_migrations);

const char* const k_schema_v1 = R"sql(
CREATE TABLE channels (
  id         bigserial PRIMARY KEY,
  platform   text NOT NULL,
  name       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (platform, name)
);

-- One row per broadcast. session_key is "id:<platform stream id>", "start:<started_at>" or,
-- when the platform names neither, "auto:<first sample time>".
CREATE TABLE livestreams (
  id                 bigserial PRIMARY KEY,
  channel_id         bigint NOT NULL REFERENCES channels (id),
  session_key        text NOT NULL,
  platform_stream_id text,
  started_at         timestamptz NOT NULL,
  ended_at           timestamptz,
  last_sample_at     timestamptz NOT NULL,
  title              text,
  category           text,
  is_active          boolean NOT NULL DEFAULT true,
  peak_viewers       integer,
  UNIQUE (channel_id, session_key)
);
CREATE INDEX livestreams_active_idx ON livestreams (channel_id, last_sample_at) WHERE is_active;

CREATE TABLE livestream_metrics (
  livestream_id  bigint NOT NULL,
  "timestamp"    timestamptz NOT NULL,
  viewer_count   integer,
  chat_messages  bigint,
  chatters       bigint,
  bitrate_kbps   double precision,
  fps            double precision,
  dropped_frames bigint,
  agent_id       text NOT NULL,
  seq            bigint NOT NULL,
  PRIMARY KEY (livestream_id, "timestamp")
) PARTITION BY RANGE ("timestamp");
-- A resent sample (same agent, seq and time) never makes a second row.
CREATE UNIQUE INDEX livestream_metrics_agent_seq_idx
  ON livestream_metrics (agent_id, seq, "timestamp");
CREATE INDEX livestream_metrics_stream_time_idx
  ON livestream_metrics (livestream_id, "timestamp" DESC);
CREATE INDEX livestream_metrics_time_brin ON livestream_metrics USING brin ("timestamp");
CREATE TABLE livestream_metrics_default PARTITION OF livestream_metrics DEFAULT;

CREATE TABLE ingest_rejects (
  id          bigserial PRIMARY KEY,
  received_at timestamptz NOT NULL,
  topic       text NOT NULL,
  payload     bytea NOT NULL,
  reason      text NOT NULL
);
CREATE INDEX ingest_rejects_received_idx ON ingest_rejects (received_at);
-- A resent bad message (agents resend what was never acknowledged) is stored once.
CREATE UNIQUE INDEX ingest_rejects_once_idx ON ingest_rejects (topic, md5(payload), reason);

CREATE TABLE agents (
  agent_id      text PRIMARY KEY,
  state         text,
  status_reason text,
  version       text,
  started_at    timestamptz,
  sources       integer,
  status_at     timestamptz,
  health        jsonb,
  health_at     timestamptz,
  last_seen_at  timestamptz NOT NULL
);

CREATE TABLE stream_analytics_hourly (
  hour             timestamptz NOT NULL,
  livestream_id    bigint NOT NULL,
  avg_viewers      double precision,
  peak_viewers     integer,
  min_viewers      integer,
  data_points      integer NOT NULL,
  chat_messages    bigint,
  avg_chatters     double precision,
  peak_chatters    bigint,
  avg_bitrate_kbps double precision,
  min_bitrate_kbps double precision,
  max_bitrate_kbps double precision,
  refreshed_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (livestream_id, hour)
);
CREATE INDEX stream_analytics_hourly_hour_idx ON stream_analytics_hourly (hour);

-- Hours touched by writes since the last refresh; append-only, consumed by the refresh.
CREATE TABLE analytics_dirty (
  livestream_id bigint NOT NULL,
  hour          timestamptz NOT NULL
);
)sql";

// Identity that does not merge strangers, and keys a sharded database can enforce.
// - A self-hosted server's stream name ("live/main") means something only on that server, so
//   such a channel belongs to the agent that watches it (scope = agent id); a platform channel
//   (Twitch, YouTube, Kick) is global (scope ''). An existing self-hosted channel written by one
//   agent only becomes that agent's; one that several agents already merged keeps scope '' and
//   its history, and their new samples go to per-agent channels.
// - A metrics row is one sample: (agent_id, seq) with its time, within its livestream. Two
//   samples in the same millisecond are two rows; a resent sample is still stored once. Every
//   unique key starts with livestream_id, so Citus can distribute the table by it.
const char* const k_schema_v4 = R"sql(
ALTER TABLE channels ADD COLUMN scope text NOT NULL DEFAULT '';
UPDATE channels c SET scope = s.agent_id
FROM (SELECT l.channel_id, min(m.agent_id) AS agent_id
      FROM livestreams l JOIN livestream_metrics m ON m.livestream_id = l.id
      GROUP BY l.channel_id HAVING count(DISTINCT m.agent_id) = 1) s
WHERE c.id = s.channel_id AND c.platform NOT IN ('twitch', 'youtube', 'kick');
ALTER TABLE channels DROP CONSTRAINT channels_platform_name_key;
ALTER TABLE channels ADD CONSTRAINT channels_identity_key UNIQUE (platform, scope, name);

ALTER TABLE livestream_metrics DROP CONSTRAINT livestream_metrics_pkey;
DROP INDEX livestream_metrics_agent_seq_idx;
ALTER TABLE livestream_metrics ADD PRIMARY KEY (livestream_id, agent_id, seq, "timestamp");
)sql";

// Rejects: where they were refused as a field, the size of a (truncated) payload, and a unique
// key of hashes so that no topic or reason is too long for a btree entry.
const char* const k_schema_v5 = R"sql(
ALTER TABLE ingest_rejects ADD COLUMN payload_bytes bigint;
UPDATE ingest_rejects SET payload_bytes = length(payload);
ALTER TABLE ingest_rejects ALTER COLUMN payload_bytes SET NOT NULL;
ALTER TABLE ingest_rejects ADD COLUMN origin text NOT NULL DEFAULT 'decode'
  CHECK (origin IN ('decode', 'database'));
UPDATE ingest_rejects SET origin = 'database', reason = substr(reason, 22)
WHERE reason LIKE 'database refused it: %';
DROP INDEX ingest_rejects_once_idx;
CREATE UNIQUE INDEX ingest_rejects_once_idx
  ON ingest_rejects (md5(topic), md5(payload), md5(reason));
)sql";

// `text` with each match of `pattern` replaced by `replacement`; throws std::logic_error unless
// there were exactly `expected` matches.
std::string replace_checked(const std::string& text, const std::regex& pattern,
                            const std::string& replacement, std::ptrdiff_t expected) {
  const auto found = std::distance(std::sregex_iterator(text.begin(), text.end(), pattern),
                                   std::sregex_iterator());
  if (found != expected) {
    throw std::logic_error("schema: expected " + std::to_string(expected) +
                           " matches in the metrics functions' text, found " +
                           std::to_string(found));
  }
  return std::regex_replace(text, pattern, replacement);
}

}  // namespace

std::string store_metrics_rows_in_select_list_sql() {
  // The rows of both functions' INSERTs (the plain one of each, the ON CONFLICT one of
  // migration 10's) and their CREATE statements.
  static const std::regex from_unnest(
      R"(SELECT \* FROM unnest\(p_livestream, p_timestamp, p_viewers, p_chat_messages, )"
      R"(p_chatters,\s+p_bitrate, p_fps, p_dropped_frames, p_agent, p_seq\))");
  static const std::regex create(R"(CREATE FUNCTION streamtrack_store_metrics\()");
  const std::string functions =
      std::string(k_store_metrics_schema_sql) + k_store_metrics_with_current_sql;
  const auto rows = replace_checked(
      functions, from_unnest,
      "SELECT unnest(p_livestream), unnest(p_timestamp), unnest(p_viewers), "
      "unnest(p_chat_messages), unnest(p_chatters), unnest(p_bitrate), unnest(p_fps), "
      "unnest(p_dropped_frames), unnest(p_agent), unnest(p_seq)",
      3);
  const auto replaced =
      replace_checked(rows, create, "CREATE OR REPLACE FUNCTION streamtrack_store_metrics(", 2);
  // Migration 10's REVOKE named the function alone, which is ambiguous once migration 11's
  // overload exists.
  static const std::regex revoke_by_name(
      R"(REVOKE ALL ON FUNCTION streamtrack_store_metrics FROM PUBLIC;)");
  return replace_checked(replaced, revoke_by_name, std::string(k_store_metrics_revoke_sql), 1);
}

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> all{
      {1, "channels, livestreams, partitioned livestream_metrics, rejects, agents, analytics",
       k_schema_v1},
      {2, "alerts: one row per alert episode, open rows are the current state",
       alerts::k_alerts_schema_sql},
      {3, "read side: channel_current, livestream_changes, NOTIFY streamtrack_live triggers",
       live::k_read_side_schema_sql},
      {4, "channels scoped by agent for self-hosted servers; metrics keyed by sample", k_schema_v4},
      {5, "ingest_rejects: origin, payload_bytes, hashed unique key", k_schema_v5},
      {6, "read-only views for dashboards: v_channel_viewers, v_sessions",
       views::k_views_schema_sql},
      {7,
       "session steps of a batch in one call (streamtrack_apply_session_steps); open-session "
       "index without last_sample_at",
       sessions::k_session_steps_schema_sql},
      {8,
       "session steps: the batch's channels locked in step order, continuing sessions moved "
       "forward by one UPDATE",
       sessions::k_session_steps_set_based_sql},
      {9,
       "analytics_dirty carries each batch's partial aggregates; stream_analytics_hourly keeps "
       "the sums and counts that merge them",
       analytics::k_partial_aggregates_schema_sql},
      {10,
       "channel_current: no index on the columns every batch moves, room on its pages (HOT "
       "updates); a batch's metrics rows by streamtrack_store_metrics (a plain INSERT unless a "
       "row was stored already); the title history of continued sessions set-based",
       // livestreams before channel_current: the order a batch takes them in (its session
       // steps, then its metrics rows' trigger), so a batch in flight is waited for, not
       // deadlocked with.
       std::string(sessions::k_session_changes_set_based_sql) + live::k_channel_current_hot_sql +
           k_store_metrics_schema_sql},
      {11,
       "session steps: new sessions set-based like continued ones; room on the session rows' "
       "pages (HOT updates); channel_current moved by streamtrack_store_metrics from each "
       "channel's newest row",
       std::string(sessions::k_session_steps_new_sessions_set_based_sql) +
           live::k_channel_current_from_writer_sql + k_store_metrics_with_current_sql},
      {12,
       "streamtrack_store_metrics reads its rows from the arrays in the select list (no "
       "tuplestore per array)",
       store_metrics_rows_in_select_list_sql()},
  };
  return all;
}

std::vector<int> apply_migrations(PgConnection& conn, std::optional<int> up_to) {
  std::vector<int> applied;
  conn.exec(std::string("SELECT pg_advisory_lock(") + k_lock_key + ")");
  try {
    conn.exec(k_schema_migrations_table_sql);
    for (const auto& m : migrations()) {
      if (up_to && m.version > *up_to) break;
      const auto v = std::to_string(m.version);
      if (conn.exec("SELECT 1 FROM schema_migrations WHERE version = " + v).rows() > 0) continue;
      conn.exec("BEGIN");
      try {
        // A migration may rebuild an index over every row; only the lock wait stays bounded.
        conn.exec("SET LOCAL statement_timeout = 0");
        conn.exec(m.sql);
        conn.exec("INSERT INTO schema_migrations (version, description) VALUES ($1, $2)",
                  {v, m.description});
        conn.exec("COMMIT");
      } catch (...) {
        if (conn.healthy()) conn.exec("ROLLBACK");
        throw;
      }
      applied.push_back(m.version);
    }
  } catch (...) {
    if (conn.healthy()) conn.exec(std::string("SELECT pg_advisory_unlock(") + k_lock_key + ")");
    throw;
  }
  conn.exec(std::string("SELECT pg_advisory_unlock(") + k_lock_key + ")");
  return applied;
}

}  // namespace streamtrack::collector::store
