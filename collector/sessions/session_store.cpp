#include "collector/sessions/session_store.hpp"

#include <algorithm>

#include "collector/store/lock_keys.hpp"

namespace streamtrack::collector::sessions {

namespace {

std::optional<std::string> opt_int(const std::optional<std::int64_t>& v) {
  return v ? std::optional<std::string>(std::to_string(*v)) : std::nullopt;
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

std::optional<std::string> apply_step(store::PgConnection& conn, std::int64_t channel,
                                      const SessionStep& step,
                                      std::chrono::milliseconds offline_timeout) {
  const auto channel_text = std::to_string(channel);
  if (step.kind == SessionStep::Kind::offline) {
    conn.exec(k_close_offline, {channel_text, format_rfc3339(step.first)});
    return std::nullopt;
  }
  std::string session_key = step.key;
  if (session_key.empty()) {
    conn.exec("SELECT pg_advisory_xact_lock($1::integer, $2::integer)",
              {store::lock_keys::text(store::lock_keys::k_derived_session),
               std::to_string(channel % 2147483647)});
    const auto timeout = std::to_string(offline_timeout.count()) + " milliseconds";
    const auto found = conn.exec(k_find_derived, {channel_text, format_rfc3339(step.first),
                                                  format_rfc3339(step.last), timeout});
    session_key = found.rows() > 0 ? found.text(0, 0) : "auto:" + format_rfc3339(step.first);
  }
  const auto started = step.started_at ? std::min(*step.started_at, step.first) : step.first;
  const auto r =
      conn.exec(k_upsert_session,
                {channel_text, session_key, step.stream_id, format_rfc3339(started),
                 format_rfc3339(step.last), step.title, step.category, opt_int(step.peak_viewers)});
  auto livestream = r.text(0, 0);
  if (r.text(0, 1) == "t") {
    conn.exec(k_close_others, {channel_text, livestream, format_rfc3339(step.first)});
  }
  return livestream;
}

std::int64_t close_silent_sessions(store::PgConnection& conn, TimePoint now,
                                   std::chrono::milliseconds offline_timeout) {
  return conn
      .exec(
          "UPDATE livestreams SET is_active = false, ended_at = last_sample_at "
          "WHERE is_active AND last_sample_at < $1",
          {format_rfc3339(now - offline_timeout)})
      .affected();
}

}  // namespace streamtrack::collector::sessions
