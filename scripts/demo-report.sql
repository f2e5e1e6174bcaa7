-- What the demo stored: broadcast sessions, rows per stream, hourly analytics.
\echo '-- sessions (livestreams)'
SELECT c.platform, c.name AS channel, l.id AS livestream, l.session_key, l.started_at,
       l.ended_at, l.is_active, l.peak_viewers
FROM livestreams l JOIN channels c ON c.id = l.channel_id
ORDER BY l.started_at;

\echo '-- rows per stream (livestream_metrics)'
SELECT c.platform, c.name AS channel, count(*) AS rows, min(m."timestamp") AS first,
       max(m."timestamp") AS last, max(m.viewer_count) AS max_viewers,
       round(avg(m.bitrate_kbps)::numeric, 1) AS avg_kbps, max(m.seq) AS last_seq
FROM livestream_metrics m
JOIN livestreams l ON l.id = m.livestream_id
JOIN channels c ON c.id = l.channel_id
GROUP BY c.platform, c.name ORDER BY 1, 2;

\echo '-- rows per partition'
SELECT tableoid::regclass AS partition, count(*) AS rows FROM livestream_metrics GROUP BY 1 ORDER BY 1;

\echo '-- hourly analytics (stream_analytics_hourly)'
SELECT h.hour, c.name AS channel, h.data_points, round(h.avg_viewers::numeric, 2) AS avg_viewers,
       h.peak_viewers, round(h.avg_bitrate_kbps::numeric, 1) AS avg_kbps
FROM stream_analytics_hourly h
JOIN livestreams l ON l.id = h.livestream_id
JOIN channels c ON c.id = l.channel_id
ORDER BY h.hour, c.name;

\echo '-- agents'
SELECT agent_id, state, version, sources, last_seen_at FROM agents ORDER BY agent_id;
