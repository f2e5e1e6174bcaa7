#pragma once

// Schema migration 7: the session steps of a whole batch in one statement.
//
// streamtrack_apply_session_steps() applies the planned steps (session_plan.hpp) of every
// channel of a batch, in the order given, with the same statements the writers once sent one
// round trip per step: an offline step closes the channel's open sessions at its time; a live
// step finds its session (a derived one by continuity, under the channel's two-key advisory
// lock), upserts it (widen the span, newest title and category, raise the peak, reopen only for
// samples after its end) and, when it created the row, closes the other open sessions of the
// channel that it supersedes. It returns one row (step number from 1, session id) per live step.
//
// The arrays are parallel, one element per step. p_key is the platform's key ("id:..",
// "start:..") or '' for a derived session, whose key is then the one found or p_new_key
// ("auto:<first sample>", formatted by the collector). p_started is min(started_at, first).
// Locks are taken in step order, so writers that order their steps the same way (the collector
// orders channels by (platform, scope, name), then time) never deadlock on session rows.
//
// The open-session index no longer holds last_sample_at: every batch moves last_sample_at of
// each session it touches, and with that column in no index the move is a HOT update (no new
// index entries); the sweeper and the offline close still find open sessions through it.
namespace streamtrack::collector::sessions {

inline constexpr const char* k_session_steps_schema_sql = R"sql(
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
)sql";

// Schema migration 8: the same function, with a set-based path for the common case.
//
// First the batch's channels rows are locked (FOR NO KEY UPDATE, which no foreign key check
// waits for) in step order: a writer touches a channel's sessions only while it holds that lock,
// so two writers never wait for each other anywhere but here, and here in one order, whatever
// order the later statements lock session rows in. Then every channel whose only step of the
// batch is a live one naming an existing session ("id:..", "start:..") is moved forward by one
// UPDATE with the upsert's SET (a continuing session: no insert, nothing superseded); the other
// steps (several steps of one channel, offline steps, derived sessions, new sessions) run
// through the loop of migration 7, in the order given. The function's signature and its result
// are unchanged.
inline constexpr const char* k_session_steps_set_based_sql = R"sql(
CREATE OR REPLACE FUNCTION streamtrack_apply_session_steps(
  p_channel bigint[], p_offline boolean[], p_key text[], p_new_key text[], p_stream_id text[],
  p_started timestamptz[], p_first timestamptz[], p_last timestamptz[], p_title text[],
  p_category text[], p_peak bigint[], p_offline_timeout interval, p_derived_lock integer)
RETURNS TABLE (step_no bigint, session_id bigint) LANGUAGE plpgsql AS $$
DECLARE
  s record;
  v_key text;
  v_id bigint;
  v_inserted boolean;
  v_continued_step bigint[];
  v_continued_session bigint[];
BEGIN
  PERFORM 1 FROM channels c
    JOIN (SELECT t.channel, min(t.n) AS n FROM unnest(p_channel) WITH ORDINALITY AS t (channel, n)
          GROUP BY t.channel) b ON b.channel = c.id
  ORDER BY b.n
  FOR NO KEY UPDATE OF c;

  WITH steps AS (
    SELECT t.*, count(*) OVER (PARTITION BY t.channel) AS steps_of_channel
    FROM unnest(p_channel, p_offline, p_key, p_started, p_last, p_title, p_category, p_peak)
      WITH ORDINALITY AS t (channel, offline, key, started, last_at, title, category, peak, n)
  ), continued AS (
    UPDATE livestreams l SET
      started_at = least(l.started_at, st.started),
      last_sample_at = greatest(l.last_sample_at, st.last_at),
      title = CASE WHEN st.last_at >= l.last_sample_at THEN coalesce(st.title, l.title)
                   ELSE coalesce(l.title, st.title) END,
      category = CASE WHEN st.last_at >= l.last_sample_at THEN coalesce(st.category, l.category)
                      ELSE coalesce(l.category, st.category) END,
      peak_viewers = greatest(l.peak_viewers, st.peak),
      is_active = l.is_active OR st.last_at > l.ended_at,
      ended_at = CASE WHEN NOT l.is_active AND st.last_at > l.ended_at THEN NULL
                      ELSE l.ended_at END
    FROM steps st
    WHERE st.steps_of_channel = 1 AND NOT st.offline AND st.key <> ''
      AND l.channel_id = st.channel AND l.session_key = st.key
    RETURNING st.n, l.id
  )
  SELECT array_agg(n), array_agg(id) INTO v_continued_step, v_continued_session FROM continued;
  RETURN QUERY SELECT * FROM unnest(v_continued_step, v_continued_session);

  FOR s IN
    SELECT * FROM unnest(p_channel, p_offline, p_key, p_new_key, p_stream_id, p_started, p_first,
                         p_last, p_title, p_category, p_peak) WITH ORDINALITY
      AS t (channel, offline, key, new_key, stream_id, started, first_at, last_at, title,
            category, peak, n)
    WHERE t.n NOT IN (SELECT unnest(v_continued_step))
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
)sql";

// Schema migration 10 (with collector/live/schema.hpp and collector/store/metrics_schema.hpp):
// the title history of a batch's continued sessions in one statement.
//
// Migration 3's row trigger (livestreams_title_changed) ran a PL/pgSQL call and a one-row INSERT
// into livestream_changes for every session whose title or category a batch changed. The
// set-based UPDATE of migration 8 now writes those rows itself, one INSERT for the batch, the
// same rows the trigger wrote (the session, its new last_sample_at, title and category), the old
// values read from the row as the statement found it (a writer changes a session's title only
// while it holds its channel's lock, taken before). While it runs, the transaction-local setting
// streamtrack.session_changes_written is 'on', and the trigger, which still records every other
// change (new sessions, the step-by-step path, any other writer), skips those rows.
inline constexpr const char* k_session_changes_set_based_sql = R"sql(
DROP TRIGGER livestreams_title_changed ON livestreams;
CREATE TRIGGER livestreams_title_changed AFTER UPDATE OF title, category ON livestreams
  FOR EACH ROW WHEN ((OLD.title IS DISTINCT FROM NEW.title
                      OR OLD.category IS DISTINCT FROM NEW.category)
                     AND current_setting('streamtrack.session_changes_written', true)
                         IS DISTINCT FROM 'on')
  EXECUTE FUNCTION streamtrack_session_changed();

CREATE OR REPLACE FUNCTION streamtrack_apply_session_steps(
  p_channel bigint[], p_offline boolean[], p_key text[], p_new_key text[], p_stream_id text[],
  p_started timestamptz[], p_first timestamptz[], p_last timestamptz[], p_title text[],
  p_category text[], p_peak bigint[], p_offline_timeout interval, p_derived_lock integer)
RETURNS TABLE (step_no bigint, session_id bigint) LANGUAGE plpgsql AS $$
DECLARE
  s record;
  v_key text;
  v_id bigint;
  v_inserted boolean;
  v_continued_step bigint[];
  v_continued_session bigint[];
BEGIN
  PERFORM 1 FROM channels c
    JOIN (SELECT t.channel, min(t.n) AS n FROM unnest(p_channel) WITH ORDINALITY AS t (channel, n)
          GROUP BY t.channel) b ON b.channel = c.id
  ORDER BY b.n
  FOR NO KEY UPDATE OF c;

  -- The title history of the continued sessions is written below, for all of them at once.
  PERFORM set_config('streamtrack.session_changes_written', 'on', true);
  WITH steps AS (
    SELECT t.*, count(*) OVER (PARTITION BY t.channel) AS steps_of_channel
    FROM unnest(p_channel, p_offline, p_key, p_started, p_last, p_title, p_category, p_peak)
      WITH ORDINALITY AS t (channel, offline, key, started, last_at, title, category, peak, n)
  ), continued AS (
    UPDATE livestreams l SET
      started_at = least(l.started_at, st.started),
      last_sample_at = greatest(l.last_sample_at, st.last_at),
      title = CASE WHEN st.last_at >= l.last_sample_at THEN coalesce(st.title, l.title)
                   ELSE coalesce(l.title, st.title) END,
      category = CASE WHEN st.last_at >= l.last_sample_at THEN coalesce(st.category, l.category)
                      ELSE coalesce(l.category, st.category) END,
      peak_viewers = greatest(l.peak_viewers, st.peak),
      is_active = l.is_active OR st.last_at > l.ended_at,
      ended_at = CASE WHEN NOT l.is_active AND st.last_at > l.ended_at THEN NULL
                      ELSE l.ended_at END
    FROM steps st
    JOIN livestreams old ON old.channel_id = st.channel AND old.session_key = st.key
    WHERE st.steps_of_channel = 1 AND NOT st.offline AND st.key <> '' AND l.id = old.id
    RETURNING st.n, l.id, l.last_sample_at, l.title, l.category, old.title AS old_title,
              old.category AS old_category
  ), changes AS (
    INSERT INTO livestream_changes (livestream_id, at, title, category)
    SELECT id, last_sample_at, title, category FROM continued
    WHERE title IS DISTINCT FROM old_title OR category IS DISTINCT FROM old_category
  )
  SELECT array_agg(n), array_agg(id) INTO v_continued_step, v_continued_session FROM continued;
  PERFORM set_config('streamtrack.session_changes_written', '', true);
  RETURN QUERY SELECT * FROM unnest(v_continued_step, v_continued_session);

  FOR s IN
    SELECT * FROM unnest(p_channel, p_offline, p_key, p_new_key, p_stream_id, p_started, p_first,
                         p_last, p_title, p_category, p_peak) WITH ORDINALITY
      AS t (channel, offline, key, new_key, stream_id, started, first_at, last_at, title,
            category, peak, n)
    WHERE t.n NOT IN (SELECT unnest(v_continued_step))
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
)sql";

// Schema migration 11: a batch's new sessions set-based too.
//
// A broadcast that changes inside a batch gives its channel two steps (the old session's last
// samples, the new one's first), and such channels went one by one through the loop (an upsert,
// then the close of what the new session supersedes: round trips inside the server, each with
// its plan and trigger calls). Now every channel whose steps are all live, keyed, name distinct
// sessions and name existing ones except perhaps the last is applied by three statements for
// the whole batch, in the loop's order per channel: one UPDATE moves every existing session
// forward (migration 10's, with its title history), one INSERT creates the new ones (the upsert
// of the loop, in step order), one UPDATE closes the open sessions each new one supersedes. A
// step before a channel's last can then never be a new session, so the loop's effects (a new
// session closes the channel's other open sessions older than its first sample, the later steps
// move theirs) come out the same. Which sessions exist is read under the channels' locks, which
// every writer of a channel's sessions holds. Other channels (offline steps, derived sessions,
// a key named twice, a new session before an existing one) still run through the loop. The
// signature and the result are unchanged.
//
// The session rows of live channels are rewritten by every batch; room on their pages
// (fillfactor) keeps those updates HOT (no new index entries) also while another writer's
// snapshot keeps the previous version of each row from being pruned.
inline constexpr const char* k_session_steps_new_sessions_set_based_sql = R"sql(
ALTER TABLE livestreams SET (fillfactor = 50);

CREATE OR REPLACE FUNCTION streamtrack_apply_session_steps(
  p_channel bigint[], p_offline boolean[], p_key text[], p_new_key text[], p_stream_id text[],
  p_started timestamptz[], p_first timestamptz[], p_last timestamptz[], p_title text[],
  p_category text[], p_peak bigint[], p_offline_timeout interval, p_derived_lock integer)
RETURNS TABLE (step_no bigint, session_id bigint) LANGUAGE plpgsql AS $$
DECLARE
  s record;
  v_key text;
  v_id bigint;
  v_inserted boolean;
  v_continued_step bigint[];
  v_continued_session bigint[];
  v_new_step bigint[];
  v_new_session bigint[];
  v_new_channel bigint[];
  v_new_first timestamptz[];
  v_new_inserted boolean[];
BEGIN
  PERFORM 1 FROM channels c
    JOIN (SELECT t.channel, min(t.n) AS n FROM unnest(p_channel) WITH ORDINALITY AS t (channel, n)
          GROUP BY t.channel) b ON b.channel = c.id
  ORDER BY b.n
  FOR NO KEY UPDATE OF c;

  -- The steps applied set-based: those of channels whose steps all name a session, each a
  -- different one, that exists, but for the channel's last step.
  SELECT array_agg(c.n ORDER BY c.n) FILTER (WHERE c.existing IS NOT NULL),
         array_agg(c.existing ORDER BY c.n) FILTER (WHERE c.existing IS NOT NULL),
         array_agg(c.n ORDER BY c.n) FILTER (WHERE c.existing IS NULL)
  INTO v_continued_step, v_continued_session, v_new_step
  FROM (
    SELECT t.n, l.id AS existing,
           bool_and(NOT t.offline AND t.key <> '' AND t.key_uses = 1
                    AND (l.id IS NOT NULL OR t.n = t.last_n))
             OVER (PARTITION BY t.channel) AS set_based
    FROM (SELECT u.*, max(u.n) OVER (PARTITION BY u.channel) AS last_n,
                 count(*) OVER (PARTITION BY u.channel, u.key) AS key_uses
          FROM unnest(p_channel, p_offline, p_key) WITH ORDINALITY AS u (channel, offline, key, n)) t
    LEFT JOIN livestreams l ON l.channel_id = t.channel AND l.session_key = t.key
  ) c
  WHERE c.set_based;

  -- The title history of the continued sessions is written below, for all of them at once.
  PERFORM set_config('streamtrack.session_changes_written', 'on', true);
  WITH steps AS (
    SELECT t.*, c.session
    FROM unnest(v_continued_step, v_continued_session) AS c (n, session)
    JOIN unnest(p_started, p_last, p_title, p_category, p_peak) WITH ORDINALITY
      AS t (started, last_at, title, category, peak, n) ON t.n = c.n
  ), continued AS (
    UPDATE livestreams l SET
      started_at = least(l.started_at, st.started),
      last_sample_at = greatest(l.last_sample_at, st.last_at),
      title = CASE WHEN st.last_at >= l.last_sample_at THEN coalesce(st.title, l.title)
                   ELSE coalesce(l.title, st.title) END,
      category = CASE WHEN st.last_at >= l.last_sample_at THEN coalesce(st.category, l.category)
                      ELSE coalesce(l.category, st.category) END,
      peak_viewers = greatest(l.peak_viewers, st.peak),
      is_active = l.is_active OR st.last_at > l.ended_at,
      ended_at = CASE WHEN NOT l.is_active AND st.last_at > l.ended_at THEN NULL
                      ELSE l.ended_at END
    FROM steps st
    JOIN livestreams old ON old.id = st.session
    WHERE l.id = old.id
    RETURNING l.id, l.last_sample_at, l.title, l.category, old.title AS old_title,
              old.category AS old_category
  ), changes AS (
    INSERT INTO livestream_changes (livestream_id, at, title, category)
    SELECT id, last_sample_at, title, category FROM continued
    WHERE title IS DISTINCT FROM old_title OR category IS DISTINCT FROM old_category
  )
  SELECT count(*) INTO v_id FROM continued;
  PERFORM set_config('streamtrack.session_changes_written', '', true);
  RETURN QUERY SELECT * FROM unnest(v_continued_step, v_continued_session);

  -- At most one new session per channel (its last step), so the channel names its row.
  WITH steps AS (
    SELECT t.*
    FROM unnest(v_new_step) AS c (n)
    JOIN unnest(p_channel, p_key, p_stream_id, p_started, p_first, p_last, p_title, p_category,
                p_peak) WITH ORDINALITY
      AS t (channel, key, stream_id, started, first_at, last_at, title, category, peak, n)
      ON t.n = c.n
  ), upserted AS (
    INSERT INTO livestreams AS l (channel_id, session_key, platform_stream_id, started_at,
                                  last_sample_at, title, category, peak_viewers, is_active)
    SELECT st.channel, st.key, st.stream_id, st.started, st.last_at, st.title, st.category,
           st.peak, true
    FROM steps st ORDER BY st.n
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
    RETURNING l.id, l.channel_id, (l.xmax = 0) AS inserted
  )
  SELECT array_agg(st.n ORDER BY st.n), array_agg(u.id ORDER BY st.n),
         array_agg(st.channel ORDER BY st.n), array_agg(st.first_at ORDER BY st.n),
         array_agg(u.inserted ORDER BY st.n)
  INTO v_new_step, v_new_session, v_new_channel, v_new_first, v_new_inserted
  FROM upserted u JOIN steps st ON st.channel = u.channel_id;
  UPDATE livestreams l SET is_active = false, ended_at = l.last_sample_at
  FROM unnest(v_new_channel, v_new_session, v_new_first, v_new_inserted)
    AS i (channel, session, first_at, inserted)
  WHERE i.inserted AND l.channel_id = i.channel AND l.is_active AND l.id <> i.session
    AND l.last_sample_at < i.first_at;
  RETURN QUERY SELECT * FROM unnest(v_new_step, v_new_session);

  FOR s IN
    SELECT * FROM unnest(p_channel, p_offline, p_key, p_new_key, p_stream_id, p_started, p_first,
                         p_last, p_title, p_category, p_peak) WITH ORDINALITY
      AS t (channel, offline, key, new_key, stream_id, started, first_at, last_at, title,
            category, peak, n)
    WHERE t.n NOT IN (SELECT unnest(v_continued_step) UNION ALL SELECT unnest(v_new_step))
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
)sql";

}  // namespace streamtrack::collector::sessions
