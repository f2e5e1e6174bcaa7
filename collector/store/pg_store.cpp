#include "collector/store/pg_store.hpp"

#include <algorithm>
#include <cstdio>
#include <set>

#include "collector/sessions/session_plan.hpp"

namespace streamtrack::collector::store {

using ingest::Item;

namespace {

std::string ts_text(TimePoint t) {
  return format_rfc3339(t);
}

std::optional<std::string> opt_int(const std::optional<std::int64_t>& v) {
  return v ? std::optional<std::string>(std::to_string(*v)) : std::nullopt;
}

void append_field(std::string& out, const std::optional<std::int64_t>& v) {
  if (v) {
    out += std::to_string(*v);
  } else {
    out += "\\N";
  }
}

void append_field(std::string& out, const std::optional<double>& v) {
  if (!v) {
    out += "\\N";
    return;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", *v);
  out += buf;
}

// Same semantics for a new and an existing session row: widen the time span, keep the
// newest title and category, raise the peak, and reopen only for samples after its end.
constexpr const char* k_upsert_session = R"sql(
INSERT INTO livestreams AS l (channel_id, session_key, platform_stream_id, started_at,
                              last_sample_at, title, category, peak_viewers, is_active)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, true)
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
RETURNING id, (xmax = 0) AS inserted
)sql";

// A derived session is reused while samples continue it: the first new sample is less than
// the offline timeout after its last one, also when the sweeper closed it for silence meanwhile
// (ended_at = last_sample_at: an agent's backlog after an outage, or an agent clock a little
// behind the collector's, continues the broadcast). A session an offline sample ended
// (ended_at after its last sample) takes only late samples inside its lifetime.
constexpr const char* k_find_derived = R"sql(
SELECT session_key FROM livestreams
WHERE channel_id = $1 AND session_key LIKE 'auto:%'
  AND started_at - $4::interval <= $3
  AND CASE WHEN is_active THEN last_sample_at + $4::interval >= $2
           WHEN ended_at IS NULL OR ended_at <= last_sample_at
             THEN last_sample_at + $4::interval >= $2
           ELSE ended_at >= $2 END
ORDER BY is_active DESC, last_sample_at DESC
LIMIT 1
)sql";

constexpr const char* k_close_others = R"sql(
UPDATE livestreams SET is_active = false, ended_at = last_sample_at
WHERE channel_id = $1 AND is_active AND id <> $2 AND last_sample_at < $3
)sql";

constexpr const char* k_close_offline = R"sql(
UPDATE livestreams SET is_active = false, ended_at = $2
WHERE channel_id = $1 AND is_active AND last_sample_at <= $2
)sql";

}  // namespace

PgStore::PgStore(ConnectOptions options, std::chrono::milliseconds session_timeout)
    : m_options(std::move(options)), m_session_timeout(session_timeout) {}

void PgStore::ensure_connected() {
  if (m_conn && m_conn->healthy()) return;
  m_conn.reset();
  auto conn = std::make_unique<PgConnection>(m_options);
  conn->exec(
      "CREATE TEMP TABLE IF NOT EXISTS metrics_staging (livestream_id bigint, \"timestamp\" "
      "timestamptz, viewer_count integer, chat_messages bigint, chatters bigint, bitrate_kbps "
      "double precision, fps double precision, dropped_frames bigint, agent_id text, seq bigint) "
      "ON COMMIT DELETE ROWS");
  m_conn = std::move(conn);
}

WriteOutcome PgStore::write(const std::vector<Item>& batch) {
  m_new_channels.clear();
  try {
    ensure_connected();
    m_conn->exec("BEGIN");
    write_rejects(batch);
    write_agents(batch);
    write_samples(batch);
    m_conn->exec("COMMIT");
    m_channels.merge(m_new_channels);
    return {};
  } catch (const PgError& e) {
    if (m_conn && m_conn->healthy()) {
      try {
        m_conn->exec("ROLLBACK");
      } catch (const PgError&) {
        m_conn.reset();
      }
    } else {
      m_conn.reset();
    }
    const auto status =
        e.error_class() == ErrorClass::transient ? WriteStatus::retry : WriteStatus::rejected;
    return {status, e.describe()};
  } catch (const std::exception& e) {
    m_conn.reset();
    return {WriteStatus::retry, e.what()};
  }
}

void PgStore::write_rejects(const std::vector<Item>& batch) {
  for (const auto& item : batch) {
    if (item.kind != Item::Kind::reject) continue;
    m_conn->exec(
        "INSERT INTO ingest_rejects (received_at, topic, payload, payload_bytes, origin, reason) "
        "VALUES ($1, $2, $3::bytea, $4, $5, $6) ON CONFLICT DO NOTHING",
        {ts_text(item.received_at), item.topic, bytea_hex(item.payload),
         std::to_string(std::max(item.payload_bytes, item.payload.size())),
         item.origin == Item::Origin::database ? "database" : "decode", item.reason});
  }
}

void PgStore::write_agents(const std::vector<Item>& batch) {
  for (const auto& item : batch) {
    if (item.kind == Item::Kind::status) {
      const auto& s = *item.status;
      m_conn->exec(
          R"sql(
INSERT INTO agents AS a (agent_id, state, status_reason, version, started_at, sources,
                         status_at, last_seen_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
ON CONFLICT (agent_id) DO UPDATE SET
  state = excluded.state, status_reason = excluded.status_reason,
  version = coalesce(excluded.version, a.version),
  started_at = coalesce(excluded.started_at, a.started_at),
  sources = coalesce(excluded.sources, a.sources), status_at = excluded.status_at,
  last_seen_at = greatest(a.last_seen_at, excluded.last_seen_at)
WHERE a.status_at IS NULL OR a.status_at <= excluded.status_at
)sql",
          {item.agent, s.state, s.reason, s.version,
           s.started_at ? std::optional<std::string>(ts_text(*s.started_at)) : std::nullopt,
           opt_int(s.sources), ts_text(item.received_at)});
    } else if (item.kind == Item::Kind::health) {
      m_conn->exec(
          R"sql(
INSERT INTO agents AS a (agent_id, health, health_at, last_seen_at)
VALUES ($1, $2::jsonb, $3, $4)
ON CONFLICT (agent_id) DO UPDATE SET
  health = excluded.health, health_at = excluded.health_at,
  last_seen_at = greatest(a.last_seen_at, excluded.last_seen_at)
WHERE a.health_at IS NULL OR a.health_at <= excluded.health_at
)sql",
          {item.agent, item.payload, ts_text(item.health->ts), ts_text(item.received_at)});
    }
  }
}

std::string channel_scope(const std::string& platform, const std::string& agent) {
  static const std::set<std::string, std::less<>> k_global{"twitch", "youtube", "kick"};
  return k_global.contains(platform) ? std::string() : agent;
}

std::int64_t PgStore::channel_id(const ChannelKey& key) {
  if (const auto it = m_channels.find(key); it != m_channels.end()) return it->second;
  if (const auto it = m_new_channels.find(key); it != m_new_channels.end()) return it->second;
  const auto& [platform, scope, channel] = key;
  const auto r = m_conn->exec(
      "INSERT INTO channels (platform, scope, name) VALUES ($1, $2, $3) "
      "ON CONFLICT (platform, scope, name) DO UPDATE SET platform = excluded.platform "
      "RETURNING id",
      {platform, scope, channel});
  const auto id = r.integer(0, 0);
  m_new_channels.emplace(key, id);
  return id;
}

void PgStore::write_samples(const std::vector<Item>& batch) {
  // Channels in a fixed order, so that concurrent writers lock session rows in the same order.
  std::map<ChannelKey, std::vector<std::size_t>> by_channel;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (batch[i].kind != Item::Kind::sample) continue;
    const auto& s = *batch[i].sample;
    by_channel[{s.platform, channel_scope(s.platform, s.agent), s.channel}].push_back(i);
  }
  if (by_channel.empty()) return;

  const std::string timeout = std::to_string(m_session_timeout.count()) + " milliseconds";
  std::string copy;
  copy.reserve(batch.size() * 96);
  for (const auto& [key, indices] : by_channel) {
    const auto channel = channel_id(key);
    const auto channel_text = std::to_string(channel);
    std::vector<const Sample*> samples;
    samples.reserve(indices.size());
    for (const auto i : indices) samples.push_back(&*batch[i].sample);

    for (const auto& step : sessions::plan_channel(samples, m_session_timeout)) {
      if (step.kind == sessions::SessionStep::Kind::offline) {
        m_conn->exec(k_close_offline, {channel_text, ts_text(step.first)});
        continue;
      }
      std::string session_key = step.key;
      if (session_key.empty()) {
        m_conn->exec("SELECT pg_advisory_xact_lock(7310002, $1::integer)",
                     {std::to_string(channel % 2147483647)});
        const auto found = m_conn->exec(
            k_find_derived, {channel_text, ts_text(step.first), ts_text(step.last), timeout});
        session_key = found.rows() > 0 ? found.text(0, 0) : "auto:" + ts_text(step.first);
      }
      const auto started = step.started_at ? std::min(*step.started_at, step.first) : step.first;
      const auto r =
          m_conn->exec(k_upsert_session,
                       {channel_text, session_key, step.stream_id, ts_text(started),
                        ts_text(step.last), step.title, step.category, opt_int(step.peak_viewers)});
      const auto livestream = r.text(0, 0);
      if (r.text(0, 1) == "t") {
        m_conn->exec(k_close_others, {channel_text, livestream, ts_text(step.first)});
      }
      for (const auto local : step.samples) {
        const Sample& s = *samples[local];
        copy += livestream;
        copy += '\t';
        copy += ts_text(s.ts);
        copy += '\t';
        append_field(copy, s.viewers);
        copy += '\t';
        append_field(copy, s.chat_messages);
        copy += '\t';
        append_field(copy, s.chatters);
        copy += '\t';
        append_field(copy, s.bitrate_kbps);
        copy += '\t';
        append_field(copy, s.fps);
        copy += '\t';
        append_field(copy, s.dropped_frames);
        copy += '\t';
        append_copy_text(copy, s.agent);
        copy += '\t';
        copy += std::to_string(s.seq);
        copy += '\n';
      }
    }
  }
  if (copy.empty()) return;
  m_conn->copy_in("COPY metrics_staging FROM STDIN", copy);
  m_conn->exec(
      "INSERT INTO livestream_metrics SELECT * FROM metrics_staging ON CONFLICT DO NOTHING");
  m_conn->exec(
      "INSERT INTO analytics_dirty (livestream_id, hour) SELECT DISTINCT livestream_id, "
      "date_trunc('hour', \"timestamp\") FROM metrics_staging");
}

}  // namespace streamtrack::collector::store
