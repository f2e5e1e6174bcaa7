#include "collector/sessions/session_store.hpp"

#include <algorithm>

#include "collector/store/lock_keys.hpp"

namespace streamtrack::collector::sessions {

namespace {

constexpr const char* k_apply_steps =
    "SELECT step_no, session_id FROM streamtrack_apply_session_steps($1::bigint[], "
    "$2::boolean[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[], "
    "$8::timestamptz[], $9::text[], $10::text[], $11::bigint[], $12::interval, $13::integer)";

}  // namespace

std::vector<std::optional<std::string>> apply_steps(store::PgConnection& conn,
                                                    const std::vector<ChannelStep>& steps,
                                                    std::chrono::milliseconds offline_timeout) {
  // Numbers and times in binary (no text for the server to parse), unless a time is one that
  // PostgreSQL refuses as text: then the times go as text, and the step is refused as always.
  const bool times_in_binary = std::all_of(steps.begin(), steps.end(), [](const ChannelStep& s) {
    return store::binary_time_reads_as_text(s.step->first) &&
           store::binary_time_reads_as_text(s.step->last) &&
           (!s.step->started_at || store::binary_time_reads_as_text(*s.step->started_at));
  });
  using Element = store::BinaryArrayBuilder::Element;
  store::BinaryArrayBuilder channel(Element::int8), offline(Element::boolean),
      started(Element::timestamptz), first(Element::timestamptz), last(Element::timestamptz),
      peak(Element::int8);
  for (auto* column : {&channel, &offline, &started, &first, &last, &peak}) {
    column->reserve(steps.size());
  }
  store::ArrayLiteralBuilder started_text, first_text, last_text;
  std::vector<std::optional<std::string>> key, new_key, stream_id, title, category;
  for (auto* column : {&key, &new_key, &stream_id, &title, &category}) {
    column->reserve(steps.size());
  }
  for (const auto& [id, step] : steps) {
    channel.add_int8(id);
    offline.add_bool(step->kind == SessionStep::Kind::offline);
    key.emplace_back(step->key);
    new_key.emplace_back("auto:" + format_rfc3339(step->first));
    stream_id.push_back(step->stream_id);
    const auto started_at =
        step->started_at ? std::min(*step->started_at, step->first) : step->first;
    if (times_in_binary) {
      started.add_timestamp(started_at);
      first.add_timestamp(step->first);
      last.add_timestamp(step->last);
    } else {
      started_text.add_timestamp(started_at);
      first_text.add_timestamp(step->first);
      last_text.add_timestamp(step->last);
    }
    title.push_back(step->title);
    category.push_back(step->category);
    if (step->peak_viewers) {
      peak.add_int8(*step->peak_viewers);
    } else {
      peak.add_null();
    }
  }
  constexpr auto bin = store::ParamFormat::binary;
  constexpr auto txt = store::ParamFormat::text;
  const auto time_format = times_in_binary ? bin : txt;
  const auto times = [&](store::BinaryArrayBuilder& binary, store::ArrayLiteralBuilder& text) {
    return times_in_binary ? std::move(binary).finish() : std::move(text).finish();
  };
  const auto r = conn.exec(
      k_apply_steps,
      {std::move(channel).finish(), std::move(offline).finish(), store::array_literal(key),
       store::array_literal(new_key), store::array_literal(stream_id), times(started, started_text),
       times(first, first_text), times(last, last_text), store::array_literal(title),
       store::array_literal(category), std::move(peak).finish(),
       std::to_string(offline_timeout.count()) + " milliseconds",
       store::lock_keys::text(store::lock_keys::k_derived_session)},
      {bin, bin, txt, txt, txt, time_format, time_format, time_format, txt, txt, bin, txt, txt});
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
