#include "collector/sessions/session_store.hpp"

#include <algorithm>

#include "collector/store/lock_keys.hpp"

namespace streamtrack::collector::sessions {

namespace {

std::optional<std::string> opt_int(const std::optional<std::int64_t>& v) {
  return v ? std::optional<std::string>(std::to_string(*v)) : std::nullopt;
}

constexpr const char* k_apply_steps =
    "SELECT step_no, session_id FROM streamtrack_apply_session_steps($1::bigint[], "
    "$2::boolean[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[], "
    "$8::timestamptz[], $9::text[], $10::text[], $11::bigint[], $12::interval, $13::integer)";

}  // namespace

std::vector<std::optional<std::string>> apply_steps(store::PgConnection& conn,
                                                    const std::vector<ChannelStep>& steps,
                                                    std::chrono::milliseconds offline_timeout) {
  std::vector<std::optional<std::string>> channel, offline, key, new_key, stream_id, started, first,
      last, title, category, peak;
  for (auto* column : {&channel, &offline, &key, &new_key, &stream_id, &started, &first, &last,
                       &title, &category, &peak}) {
    column->reserve(steps.size());
  }
  for (const auto& [id, step] : steps) {
    const bool is_offline = step->kind == SessionStep::Kind::offline;
    channel.emplace_back(std::to_string(id));
    offline.emplace_back(is_offline ? "t" : "f");
    key.emplace_back(step->key);
    new_key.emplace_back("auto:" + format_rfc3339(step->first));
    stream_id.push_back(step->stream_id);
    started.emplace_back(
        format_rfc3339(step->started_at ? std::min(*step->started_at, step->first) : step->first));
    first.emplace_back(format_rfc3339(step->first));
    last.emplace_back(format_rfc3339(step->last));
    title.push_back(step->title);
    category.push_back(step->category);
    peak.push_back(opt_int(step->peak_viewers));
  }
  const auto r = conn.exec(
      k_apply_steps,
      {store::array_literal(channel), store::array_literal(offline), store::array_literal(key),
       store::array_literal(new_key), store::array_literal(stream_id),
       store::array_literal(started), store::array_literal(first), store::array_literal(last),
       store::array_literal(title), store::array_literal(category), store::array_literal(peak),
       std::to_string(offline_timeout.count()) + " milliseconds",
       store::lock_keys::text(store::lock_keys::k_derived_session)});
  std::vector<std::optional<std::string>> sessions(steps.size());
  for (int row = 0; row < r.rows(); ++row) {
    const auto step_no = r.integer(row, 0);
    if (step_no < 1 || static_cast<std::size_t>(step_no) > steps.size()) {
      throw store::PgError("XX000",
                           "streamtrack_apply_session_steps returned step " +
                               std::to_string(step_no) + " of " + std::to_string(steps.size()),
                           store::ErrorClass::transient);
    }
    sessions[static_cast<std::size_t>(step_no - 1)] = r.text(row, 1);
  }
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (!sessions[i] && steps[i].step->kind == SessionStep::Kind::live) {
      throw store::PgError(
          "XX000",
          "streamtrack_apply_session_steps returned no session for step " + std::to_string(i + 1),
          store::ErrorClass::transient);
    }
  }
  return sessions;
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
