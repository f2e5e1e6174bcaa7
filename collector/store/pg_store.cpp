#include "collector/store/pg_store.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <iterator>
#include <limits>
#include <string_view>
#include <tuple>

#include "collector/sessions/session_plan.hpp"
#include "collector/sessions/session_store.hpp"
#include "collector/store/reject_rows.hpp"
#include "common/wire/codec.hpp"

namespace streamtrack::collector::store {

using ingest::Item;

namespace {

std::string ts_text(TimePoint t) {
  return format_rfc3339(t);
}

std::optional<std::string> opt_int(const std::optional<std::int64_t>& v) {
  return v ? std::optional<std::string>(std::to_string(*v)) : std::nullopt;
}

// A session id as streamtrack_apply_session_steps returned it (bigint as text).
std::int64_t parse_session_id(const std::string& text) {
  std::int64_t id = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (error != std::errc() || end != text.data() + text.size()) {
    throw PgError("XX000", "session id \"" + text + "\" is not a bigint", ErrorClass::transient);
  }
  return id;
}

// The metrics rows of a batch, one array per column of livestream_metrics: numbers and times in
// binary (the server parses no text for them), agent ids as a text literal. A time PostgreSQL
// refuses as text (year 0000) never gets here: it is the first or last time of its session step,
// whose times then go as text and are refused first (the batch then isolates the sample).
// Viewers go as text when one does not fit an integer, so that its row is refused as always.
class MetricsColumns {
 public:
  void add(std::int64_t channel, std::int64_t livestream, const Sample& s) {
    m_livestream.add_int8(livestream);
    m_samples.push_back(&s);
    auto [it, first] = m_newest.try_emplace(channel, Newest{&s, livestream, std::nullopt});
    auto& newest = it->second;
    // As migration 3's trigger ranks a channel's rows (by time, the first stored of equal
    // times first), the newest is the first row of the latest time, and the one before it the
    // latest earlier time.
    if (!first) {
      if (s.ts > newest.row->ts) {
        newest.previous = newest.row->ts;
        newest.row = &s;
        newest.livestream = livestream;
      } else if (s.ts < newest.row->ts && (!newest.previous || s.ts > *newest.previous)) {
        newest.previous = s.ts;
      }
    }
    if (s.viewers) {
      if (*s.viewers < std::numeric_limits<std::int32_t>::min() ||
          *s.viewers > std::numeric_limits<std::int32_t>::max()) {
        m_viewers_as_text = true;
      }
    }
  }
  bool empty() const { return m_samples.empty(); }
  // $12..$18 of streamtrack_store_metrics (migration 11): per channel, in channel id order, its
  // newest row and the latest earlier time of its rows (NULL when none).
  std::pair<Params, std::vector<ParamFormat>> current() const {
    using Element = BinaryArrayBuilder::Element;
    BinaryArrayBuilder channel(Element::int8), livestream(Element::int8), ts(Element::timestamptz),
        previous(Element::timestamptz), viewers(Element::int4), chat_messages(Element::int8),
        bitrate(Element::float8);
    ArrayLiteralBuilder viewers_text;
    for (const auto& [id, newest] : m_newest) {
      const Sample& s = *newest.row;
      channel.add_int8(id);
      livestream.add_int8(newest.livestream);
      ts.add_timestamp(s.ts);
      if (newest.previous) {
        previous.add_timestamp(*newest.previous);
      } else {
        previous.add_null();
      }
      if (m_viewers_as_text) {
        add(viewers_text, s.viewers);
      } else if (s.viewers) {
        viewers.add_int4(static_cast<std::int32_t>(*s.viewers));
      } else {
        viewers.add_null();
      }
      add(chat_messages, s.chat_messages);
      add(bitrate, s.bitrate_kbps);
    }
    constexpr auto bin = ParamFormat::binary;
    return {{std::move(channel).finish(), std::move(livestream).finish(), std::move(ts).finish(),
             std::move(previous).finish(),
             m_viewers_as_text ? std::move(viewers_text).finish() : std::move(viewers).finish(),
             std::move(chat_messages).finish(), std::move(bitrate).finish()},
            {bin, bin, bin, bin, m_viewers_as_text ? ParamFormat::text : bin, bin, bin}};
  }
  // $1..$10 in the order of livestream_metrics' columns, with their formats; the columns are
  // spent.
  std::pair<Params, std::vector<ParamFormat>> params() && {
    const auto n = m_samples.size();
    BinaryArrayBuilder ts(BinaryArrayBuilder::Element::timestamptz);
    BinaryArrayBuilder viewers(BinaryArrayBuilder::Element::int4);
    BinaryArrayBuilder chat_messages(BinaryArrayBuilder::Element::int8);
    BinaryArrayBuilder chatters(BinaryArrayBuilder::Element::int8);
    BinaryArrayBuilder bitrate(BinaryArrayBuilder::Element::float8);
    BinaryArrayBuilder fps(BinaryArrayBuilder::Element::float8);
    BinaryArrayBuilder dropped_frames(BinaryArrayBuilder::Element::int8);
    BinaryArrayBuilder seq(BinaryArrayBuilder::Element::int8);
    for (auto* column :
         {&ts, &viewers, &chat_messages, &chatters, &bitrate, &fps, &dropped_frames, &seq}) {
      column->reserve(n);
    }
    ArrayLiteralBuilder viewers_text, agent;
    for (const Sample* s : m_samples) {
      ts.add_timestamp(s->ts);
      if (m_viewers_as_text) {
        add(viewers_text, s->viewers);
      } else if (s->viewers) {
        viewers.add_int4(static_cast<std::int32_t>(*s->viewers));
      } else {
        viewers.add_null();
      }
      add(chat_messages, s->chat_messages);
      add(chatters, s->chatters);
      add(bitrate, s->bitrate_kbps);
      add(fps, s->fps);
      add(dropped_frames, s->dropped_frames);
      agent.add(s->agent);
      seq.add_int8(s->seq);
    }
    constexpr auto bin = ParamFormat::binary;
    constexpr auto txt = ParamFormat::text;
    return {
        {std::move(m_livestream).finish(), std::move(ts).finish(),
         m_viewers_as_text ? std::move(viewers_text).finish() : std::move(viewers).finish(),
         std::move(chat_messages).finish(), std::move(chatters).finish(),
         std::move(bitrate).finish(), std::move(fps).finish(), std::move(dropped_frames).finish(),
         std::move(agent).finish(), std::move(seq).finish()},
        {bin, bin, m_viewers_as_text ? txt : bin, bin, bin, bin, bin, bin, txt, bin}};
  }

 private:
  static void add(ArrayLiteralBuilder& column, const std::optional<std::int64_t>& v) {
    if (v) {
      column.add_number(*v);
    } else {
      column.add_null();
    }
  }
  static void add(BinaryArrayBuilder& column, const std::optional<std::int64_t>& v) {
    if (v) {
      column.add_int8(*v);
    } else {
      column.add_null();
    }
  }
  static void add(BinaryArrayBuilder& column, const std::optional<double>& v) {
    if (v) {
      column.add_float8(*v);
    } else {
      column.add_null();
    }
  }

  // A channel's newest row of the batch, and the time of the row before it.
  struct Newest {
    const Sample* row;
    std::int64_t livestream;
    std::optional<TimePoint> previous;
  };

  BinaryArrayBuilder m_livestream{BinaryArrayBuilder::Element::int8};
  std::vector<const Sample*> m_samples;
  std::map<std::int64_t, Newest> m_newest;
  bool m_viewers_as_text = false;
};

// One statement for all of `rows`. A reject is stored once per (topic, payload, reason)
// (ingest_rejects_once_idx): one already stored is skipped.
void insert_rejects(PgConnection& conn, const std::vector<RejectRow>& rows) {
  ArrayLiteralBuilder received_at, topic, payload, payload_bytes, origin, reason;
  for (const auto& row : rows) {
    const auto& item = *row.item;
    received_at.add(ts_text(item.received_at));
    topic.add(row.topic);
    payload.add(bytea_hex(item.payload));
    payload_bytes.add(std::to_string(std::max(item.payload_bytes, item.payload.size())));
    origin.add(item.origin == Item::Origin::database ? "database" : "decode");
    reason.add(row.reason);
  }
  conn.exec(
      R"sql(
INSERT INTO ingest_rejects (received_at, topic, payload, payload_bytes, origin, reason)
SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::bytea[], $4::bigint[], $5::text[],
                     $6::text[])
ON CONFLICT DO NOTHING
)sql",
      {std::move(received_at).finish(), std::move(topic).finish(), std::move(payload).finish(),
       std::move(payload_bytes).finish(), std::move(origin).finish(), std::move(reason).finish()});
}

}  // namespace

PgStore::PgStore(ConnectOptions options, std::chrono::milliseconds session_timeout)
    : m_options(std::move(options)), m_session_timeout(session_timeout) {}

void PgStore::ensure_connected() {
  if (m_conn && m_conn->healthy()) return;
  m_conn.reset();
  m_conn = std::make_unique<PgConnection>(m_options);
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
    const auto status = e.error_class() == ErrorClass::transient ? Outcome::retry : Outcome::error;
    return {status, e.describe()};
  } catch (const std::exception& e) {
    m_conn.reset();
    return {Outcome::retry, e.what()};
  }
}

void PgStore::write_rejects(const std::vector<Item>& batch) {
  for (const auto& rows : plan_reject_statements(batch)) insert_rejects(*m_conn, rows);
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

std::string_view channel_scope(std::string_view platform, std::string_view agent) {
  const bool global = platform == "twitch" || platform == "youtube" || platform == "kick";
  return global ? std::string_view() : agent;
}

void PgStore::resolve_channels(const std::vector<ChannelKey>& keys) {
  std::vector<std::optional<std::string>> platforms, scopes, names;
  for (const auto& key : keys) {
    if (m_channels.contains(key) || m_new_channels.contains(key)) continue;
    const auto& [platform, scope, name] = key;
    platforms.emplace_back(platform);
    scopes.emplace_back(scope);
    names.emplace_back(name);
  }
  if (platforms.empty()) return;
  // Resolving locks no existing row: a writer locks its channels only inside
  // streamtrack_apply_session_steps (migration 8), all in one order, so a channel new to this
  // writer but locked by another never makes the two wait for each other. New rows go in in the
  // callers' order (that of ChannelKey); one that another writer is inserting is waited for
  // (then skipped) and read back by the next statement, whose snapshot sees it committed.
  const auto add = [this](const PgResult& r) {
    for (int row = 0; row < r.rows(); ++row) {
      m_new_channels.emplace(ChannelKey{r.text(row, 1), r.text(row, 2), r.text(row, 3)},
                             r.integer(row, 0));
    }
  };
  const Params key_columns{array_literal(platforms), array_literal(scopes), array_literal(names)};
  const auto inserted = m_conn->exec(
      "INSERT INTO channels (platform, scope, name) "
      "SELECT platform, scope, name FROM unnest($1::text[], $2::text[], $3::text[]) "
      "WITH ORDINALITY AS k (platform, scope, name, n) ORDER BY n "
      "ON CONFLICT (platform, scope, name) DO NOTHING "
      "RETURNING id, platform, scope, name",
      key_columns);
  add(inserted);
  if (static_cast<std::size_t>(inserted.rows()) == platforms.size()) return;
  add(
      m_conn->exec("SELECT c.id, c.platform, c.scope, c.name FROM channels c "
                   "JOIN unnest($1::text[], $2::text[], $3::text[]) AS k (platform, scope, name) "
                   "ON c.platform = k.platform AND c.scope = k.scope AND c.name = k.name",
                   key_columns));
}

std::int64_t PgStore::channel_id(const ChannelKey& key) const {
  if (const auto it = m_channels.find(key); it != m_channels.end()) return it->second;
  if (const auto it = m_new_channels.find(key); it != m_new_channels.end()) return it->second;
  throw PgError("XX000", "channel " + std::get<0>(key) + "/" + std::get<2>(key) + " not resolved",
                ErrorClass::transient);
}

void PgStore::write_samples(const std::vector<Item>& batch) {
  // Channels in a fixed order, so that concurrent writers lock channel and session rows in the
  // same order: that of ChannelKey (the views compare as the strings do), without copying the
  // names of every sample.
  std::map<std::tuple<std::string_view, std::string_view, std::string_view>,
           std::vector<const Sample*>>
      by_channel;
  for (const auto& item : batch) {
    if (item.kind != Item::Kind::sample) continue;
    const auto& s = *item.sample;
    by_channel[{s.platform, channel_scope(s.platform, s.agent), s.channel}].push_back(&s);
  }
  if (by_channel.empty()) return;

  std::vector<ChannelKey> keys;
  keys.reserve(by_channel.size());
  for (const auto& entry : by_channel) {
    const auto& [platform, scope, name] = entry.first;
    keys.emplace_back(std::string(platform), std::string(scope), std::string(name));
  }
  resolve_channels(keys);

  struct Planned {
    std::int64_t channel;
    const std::vector<const Sample*>* samples;
    std::vector<sessions::SessionStep> steps;
  };
  std::vector<Planned> planned;
  planned.reserve(by_channel.size());
  std::vector<sessions::ChannelStep> steps;
  std::size_t key_index = 0;
  for (const auto& entry : by_channel) {
    const auto channel = channel_id(keys[key_index++]);
    const auto& samples = entry.second;
    planned.push_back({channel, &samples, sessions::plan_channel(samples, m_session_timeout)});
    for (const auto& step : planned.back().steps) steps.push_back({channel, &step});
  }
  const auto livestreams = sessions::apply_steps(*m_conn, steps, m_session_timeout);

  MetricsColumns rows;
  std::size_t step_index = 0;
  for (const auto& [channel, samples, channel_steps] : planned) {
    for (const auto& step : channel_steps) {
      const auto& livestream = livestreams[step_index++];
      if (!livestream) continue;  // an offline step adds no metrics row
      const auto id = parse_session_id(*livestream);
      for (const auto local : step.samples) rows.add(channel, id, *(*samples)[local]);
    }
  }
  if (rows.empty()) return;
  // One call (migration 11's overload of migration 10's function): the rows with the dedup rule
  // of docs/mqtt.md, per hour the aggregates of the rows it stored for the analytics refresh,
  // and each channel's newest row into channel_current. A plain INSERT first, unless a
  // recent batch met a resent row.
  const bool plain = m_on_conflict_batches == 0;
  if (!plain) --m_on_conflict_batches;
  auto [current, current_formats] = rows.current();
  auto [params, formats] = std::move(rows).params();
  params.emplace_back(plain ? "true" : "false");
  formats.push_back(ParamFormat::text);
  std::move(current.begin(), current.end(), std::back_inserter(params));
  formats.insert(formats.end(), current_formats.begin(), current_formats.end());
  const auto stored = m_conn->exec(
      "SELECT streamtrack_store_metrics($1::bigint[], $2::timestamptz[], $3::integer[], "
      "$4::bigint[], $5::bigint[], $6::double precision[], $7::double precision[], $8::bigint[], "
      "$9::text[], $10::bigint[], $11::boolean, $12::bigint[], $13::bigint[], "
      "$14::timestamptz[], $15::timestamptz[], $16::integer[], $17::bigint[], "
      "$18::double precision[])",
      params, formats);
  if (stored.text(0, 0) == "t") m_on_conflict_batches = k_on_conflict_batches_after_a_resend;
}

}  // namespace streamtrack::collector::store
