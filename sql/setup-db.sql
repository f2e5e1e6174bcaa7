-- StreamTrack database setup, the same as `streamtrack-collector setup-db` (which wrote
-- this file). Run it as a PostgreSQL superuser:
--   sudo -u postgres psql -f /usr/share/streamtrack/sql/setup-db.sql
-- It creates the roles streamtrack (the collector: owns the schema) and streamtrack_web (streamtrack-web:
-- SELECT only), the database streamtrack, and applies the schema as streamtrack. Rerunning it is safe.
-- Passwords: \password streamtrack and \password streamtrack_web in psql (or peer/cert authentication).
\set ON_ERROR_STOP on

DO $streamtrack$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'streamtrack'
             AND (rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls)) THEN
    RAISE EXCEPTION 'role streamtrack (writer) already exists with SUPERUSER, CREATEDB, CREATEROLE, REPLICATION or BYPASSRLS; StreamTrack wants a role that has none: choose another name';
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'streamtrack') THEN
    CREATE ROLE "streamtrack" LOGIN;
  END IF;
END
$streamtrack$;
ALTER ROLE "streamtrack" LOGIN;
DO $streamtrack$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'streamtrack_web'
             AND (rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls)) THEN
    RAISE EXCEPTION 'role streamtrack_web (reader) already exists with SUPERUSER, CREATEDB, CREATEROLE, REPLICATION or BYPASSRLS; StreamTrack wants a role that has none: choose another name';
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'streamtrack_web') THEN
    CREATE ROLE "streamtrack_web" LOGIN;
  END IF;
END
$streamtrack$;
ALTER ROLE "streamtrack_web" LOGIN;
ALTER ROLE "streamtrack_web" SET default_transaction_read_only = on;
DO $streamtrack$
DECLARE g record;
BEGIN
  FOR g IN SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid
           WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = 'streamtrack') LOOP
    EXECUTE format('REVOKE %I FROM %I', g.rolname, 'streamtrack');
  END LOOP;
END
$streamtrack$;
DO $streamtrack$
DECLARE g record;
BEGIN
  FOR g IN SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid
           WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = 'streamtrack_web') LOOP
    EXECUTE format('REVOKE %I FROM %I', g.rolname, 'streamtrack_web');
  END LOOP;
END
$streamtrack$;
SELECT 'CREATE DATABASE "streamtrack" ENCODING ''UTF8'' TEMPLATE template0' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'streamtrack') \gexec
REVOKE ALL ON DATABASE "streamtrack" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE "streamtrack" TO "streamtrack";
GRANT CONNECT ON DATABASE "streamtrack" TO "streamtrack_web";

\connect streamtrack
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO "streamtrack";
GRANT USAGE ON SCHEMA public TO "streamtrack_web";
DO $streamtrack$
DECLARE d record;
BEGIN
  FOR d IN SELECT DISTINCT pg_get_userbyid(a.defaclrole) AS owner, n.nspname,
             CASE a.defaclobjtype WHEN 'r' THEN 'TABLES' WHEN 'S' THEN 'SEQUENCES'
               WHEN 'f' THEN 'FUNCTIONS' WHEN 'T' THEN 'TYPES' ELSE 'SCHEMAS' END AS kind
           FROM pg_default_acl a LEFT JOIN pg_namespace n ON n.oid = a.defaclnamespace,
             aclexplode(a.defaclacl) x
           WHERE x.grantee = (SELECT oid FROM pg_roles WHERE rolname = 'streamtrack')
             AND x.grantee <> a.defaclrole LOOP
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I', d.owner)
      || CASE WHEN d.nspname IS NULL THEN '' ELSE format(' IN SCHEMA %I', d.nspname) END
      || format(' REVOKE ALL ON %s FROM %I', d.kind, 'streamtrack');
  END LOOP;
END
$streamtrack$;
DO $streamtrack$
DECLARE d record;
BEGIN
  FOR d IN SELECT DISTINCT pg_get_userbyid(a.defaclrole) AS owner, n.nspname,
             CASE a.defaclobjtype WHEN 'r' THEN 'TABLES' WHEN 'S' THEN 'SEQUENCES'
               WHEN 'f' THEN 'FUNCTIONS' WHEN 'T' THEN 'TYPES' ELSE 'SCHEMAS' END AS kind
           FROM pg_default_acl a LEFT JOIN pg_namespace n ON n.oid = a.defaclnamespace,
             aclexplode(a.defaclacl) x
           WHERE x.grantee = (SELECT oid FROM pg_roles WHERE rolname = 'streamtrack_web')
             AND x.grantee <> a.defaclrole LOOP
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I', d.owner)
      || CASE WHEN d.nspname IS NULL THEN '' ELSE format(' IN SCHEMA %I', d.nspname) END
      || format(' REVOKE ALL ON %s FROM %I', d.kind, 'streamtrack_web');
  END LOOP;
END
$streamtrack$;

-- The schema, applied as the writer so that it owns every table.
SET ROLE "streamtrack";
CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());

-- Migration 1: channels, livestreams, partitioned livestream_metrics, rejects, agents, analytics
SELECT NOT EXISTS (SELECT 1 FROM schema_migrations WHERE version = 1) AS streamtrack_apply \gset
\if :streamtrack_apply
BEGIN;

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

INSERT INTO schema_migrations (version, description) VALUES (1, 'channels, livestreams, partitioned livestream_metrics, rejects, agents, analytics');
COMMIT;
\endif

-- Migration 2: alerts: one row per alert episode, open rows are the current state
SELECT NOT EXISTS (SELECT 1 FROM schema_migrations WHERE version = 2) AS streamtrack_apply \gset
\if :streamtrack_apply
BEGIN;

CREATE TABLE alerts (
  id               bigserial PRIMARY KEY,
  rule             text NOT NULL,
  alert_key        text NOT NULL,
  key_parts        jsonb NOT NULL,
  state            text NOT NULL CHECK (state IN ('pending', 'firing', 'resolved')),
  severity         text NOT NULL,
  labels           jsonb NOT NULL,
  summary          text NOT NULL DEFAULT '',
  value            double precision,
  threshold        double precision,
  active_since     timestamptz NOT NULL,
  fired_at         timestamptz,
  resolved_at      timestamptz,
  last_notified_at timestamptz,
  firing_sent      boolean NOT NULL DEFAULT false,
  inhibited        boolean NOT NULL DEFAULT false,
  collector        text NOT NULL,
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX alerts_open_idx ON alerts (rule, alert_key) WHERE resolved_at IS NULL;
CREATE INDEX alerts_active_since_idx ON alerts (active_since);

INSERT INTO schema_migrations (version, description) VALUES (2, 'alerts: one row per alert episode, open rows are the current state');
COMMIT;
\endif

-- Migration 3: read side: channel_current, livestream_changes, NOTIFY streamtrack_live triggers
SELECT NOT EXISTS (SELECT 1 FROM schema_migrations WHERE version = 3) AS streamtrack_apply \gset
\if :streamtrack_apply
BEGIN;

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

INSERT INTO schema_migrations (version, description) VALUES (3, 'read side: channel_current, livestream_changes, NOTIFY streamtrack_live triggers');
COMMIT;
\endif

-- Migration 4: channels scoped by agent for self-hosted servers; metrics keyed by sample
SELECT NOT EXISTS (SELECT 1 FROM schema_migrations WHERE version = 4) AS streamtrack_apply \gset
\if :streamtrack_apply
BEGIN;

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

INSERT INTO schema_migrations (version, description) VALUES (4, 'channels scoped by agent for self-hosted servers; metrics keyed by sample');
COMMIT;
\endif

-- Migration 5: ingest_rejects: origin, payload_bytes, hashed unique key
SELECT NOT EXISTS (SELECT 1 FROM schema_migrations WHERE version = 5) AS streamtrack_apply \gset
\if :streamtrack_apply
BEGIN;

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

INSERT INTO schema_migrations (version, description) VALUES (5, 'ingest_rejects: origin, payload_bytes, hashed unique key');
COMMIT;
\endif

-- Migration 6: read-only views for dashboards: v_channel_viewers, v_sessions
SELECT NOT EXISTS (SELECT 1 FROM schema_migrations WHERE version = 6) AS streamtrack_apply \gset
\if :streamtrack_apply
BEGIN;

CREATE VIEW v_channel_viewers AS
SELECT m."timestamp"     AS "time",
       c.platform        AS platform,
       c.name            AS channel,
       c.scope           AS scope,
       m.livestream_id   AS session_id,
       m.viewer_count    AS viewers,
       m.chat_messages   AS chat_messages,
       m.chatters        AS chatters,
       m.bitrate_kbps    AS bitrate_kbps,
       m.fps             AS fps,
       m.dropped_frames  AS dropped_frames,
       m.agent_id        AS agent
FROM livestream_metrics m
JOIN livestreams l ON l.id = m.livestream_id
JOIN channels c ON c.id = l.channel_id;

CREATE VIEW v_sessions AS
SELECT l.id                AS session_id,
       c.platform          AS platform,
       c.name              AS channel,
       c.scope             AS scope,
       l.started_at        AS started_at,
       l.ended_at          AS ended_at,
       l.is_active         AS live,
       coalesce(l.ended_at, l.last_sample_at) - l.started_at AS duration,
       l.title             AS title,
       l.category          AS category,
       l.peak_viewers      AS peak_viewers
FROM livestreams l
JOIN channels c ON c.id = l.channel_id;

INSERT INTO schema_migrations (version, description) VALUES (6, 'read-only views for dashboards: v_channel_viewers, v_sessions');
COMMIT;
\endif

-- Migration 7: session steps of a batch in one call (streamtrack_apply_session_steps); open-session index without last_sample_at
SELECT NOT EXISTS (SELECT 1 FROM schema_migrations WHERE version = 7) AS streamtrack_apply \gset
\if :streamtrack_apply
BEGIN;

DROP INDEX livestreams_active_idx;
CREATE INDEX livestreams_active_idx ON livestreams (channel_id) WHERE is_active;
ALTER TABLE livestreams SET (fillfactor = 80);

CREATE FUNCTION streamtrack_apply_session_steps(
  p_channel bigint[], p_offline boolean[], p_key text[], p_new_key text[], p_stream_id text[],
  p_started timestamptz[], p_first timestamptz[], p_last timestamptz[], p_title text[],
  p_category text[], p_peak bigint[], p_offline_timeout interval, p_derived_lock integer)
RETURNS TABLE (step_no bigint, session_id bigint) LANGUAGE plpgsql AS $$
DECLARE
  s record;
  v_key text;
  v_id bigint;
  v_inserted boolean;
BEGIN
  FOR s IN
    SELECT * FROM unnest(p_channel, p_offline, p_key, p_new_key, p_stream_id, p_started, p_first,
                         p_last, p_title, p_category, p_peak) WITH ORDINALITY
      AS t (channel, offline, key, new_key, stream_id, started, first_at, last_at, title,
            category, peak, n)
    ORDER BY n
  LOOP
    IF s.offline THEN
      UPDATE livestreams SET is_active = false, ended_at = s.first_at
      WHERE channel_id = s.channel AND is_active AND last_sample_at <= s.first_at;
      CONTINUE;
    END IF;
    v_key := s.key;
    IF v_key = '' THEN
      PERFORM pg_advisory_xact_lock(p_derived_lock, (s.channel % 2147483647)::integer);
      -- Reused while samples continue it: also when the sweeper closed it for silence
      -- (ended_at = last_sample_at); one an offline sample ended takes only late samples
      -- inside its lifetime.
      SELECT l.session_key INTO v_key FROM livestreams l
      WHERE l.channel_id = s.channel AND l.session_key LIKE 'auto:%'
        AND l.started_at - p_offline_timeout <= s.last_at
        AND CASE WHEN l.is_active THEN l.last_sample_at + p_offline_timeout >= s.first_at
                 WHEN l.ended_at IS NULL OR l.ended_at <= l.last_sample_at
                   THEN l.last_sample_at + p_offline_timeout >= s.first_at
                 ELSE l.ended_at >= s.first_at END
      ORDER BY l.is_active DESC, l.last_sample_at DESC
      LIMIT 1;
      v_key := coalesce(v_key, s.new_key);
    END IF;
    INSERT INTO livestreams AS l (channel_id, session_key, platform_stream_id, started_at,
                                  last_sample_at, title, category, peak_viewers, is_active)
    VALUES (s.channel, v_key, s.stream_id, s.started, s.last_at, s.title, s.category, s.peak,
            true)
    ON CONFLICT (channel_id, session_key) DO UPDATE SET
      started_at = least(l.started_at, excluded.started_at),
      last_sample_at = greatest(l.last_sample_at, excluded.last_sample_at),
      title = CASE WHEN excluded.last_sample_at >= l.last_sample_at
                   THEN coalesce(excluded.title, l.title) ELSE coalesce(l.title, excluded.title) END,
      category = CASE WHEN excluded.last_sample_at >= l.last_sample_at
                      THEN coalesce(excluded.category, l.category)
                      ELSE coalesce(l.category, excluded.category) END,
      peak_viewers = greatest(l.peak_viewers, excluded.peak_viewers),
      is_active = l.is_active OR excluded.last_sample_at > l.ended_at,
      ended_at = CASE WHEN NOT l.is_active AND excluded.last_sample_at > l.ended_at THEN NULL
                      ELSE l.ended_at END
    RETURNING l.id, (l.xmax = 0) INTO v_id, v_inserted;
    IF v_inserted THEN
      UPDATE livestreams SET is_active = false, ended_at = last_sample_at
      WHERE channel_id = s.channel AND is_active AND id <> v_id AND last_sample_at < s.first_at;
    END IF;
    step_no := s.n;
    session_id := v_id;
    RETURN NEXT;
  END LOOP;
END $$;
-- Only its owner (the collector's role) writes sessions.
REVOKE ALL ON FUNCTION streamtrack_apply_session_steps FROM PUBLIC;

INSERT INTO schema_migrations (version, description) VALUES (7, 'session steps of a batch in one call (streamtrack_apply_session_steps); open-session index without last_sample_at');
COMMIT;
\endif
RESET ROLE;

REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "streamtrack_web";
GRANT SELECT ON agents, alerts, channel_current, channels, livestream_changes, livestream_metrics, livestreams, stream_analytics_hourly, v_channel_viewers, v_sessions TO "streamtrack_web";
