#include "collector/store/pg_store.hpp"

#include <algorithm>
#include <cstdio>
#include <set>

#include "collector/sessions/session_plan.hpp"
#include "collector/sessions/session_store.hpp"

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

  std::string copy;
  copy.reserve(batch.size() * 96);
  for (const auto& [key, indices] : by_channel) {
    const auto channel = channel_id(key);
    std::vector<const Sample*> samples;
    samples.reserve(indices.size());
    for (const auto i : indices) samples.push_back(&*batch[i].sample);

    for (const auto& step : sessions::plan_channel(samples, m_session_timeout)) {
      const auto livestream = sessions::apply_step(*m_conn, channel, step, m_session_timeout);
      if (!livestream) continue;  // an offline step adds no metrics row
      for (const auto local : step.samples) {
        const Sample& s = *samples[local];
        copy += *livestream;
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
      // The dedup rule of docs/mqtt.md: a sample is (agent, seq) with its time, in its session.
      "INSERT INTO livestream_metrics SELECT * FROM metrics_staging "
      "ON CONFLICT (livestream_id, agent_id, seq, \"timestamp\") DO NOTHING");
  m_conn->exec(
      "INSERT INTO analytics_dirty (livestream_id, hour) SELECT DISTINCT livestream_id, "
      "date_trunc('hour', \"timestamp\") FROM metrics_staging");
}

}  // namespace streamtrack::collector::store
