#pragma once

// Schema migration 6: read-only views for dashboards that query PostgreSQL directly (Grafana's
// PostgreSQL data source, docs/integrations.md). They are the supported surface for such
// queries: columns are only ever added, never renamed. Both are plain views, so a filter on
// `time` (v_channel_viewers) reaches the partitions of livestream_metrics and prunes them.
//
// - v_channel_viewers: one row per stored sample, with its channel's platform and name.
// - v_sessions: one row per broadcast (livestreams), with its channel and duration so far.
namespace streamtrack::collector::views {

inline constexpr const char* k_views_schema_sql = R"sql(
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
)sql";

}  // namespace streamtrack::collector::views
