#include <nlohmann/json.hpp>

#include "web/api/api.hpp"
#include "web/api/params.hpp"
#include "web/api/reply.hpp"

// GET /api/v1/channels/{id}/series and /api/v1/sessions/{id}/series, at the resolution
// plan_series chooses.
namespace streamtrack::web::api {

using nlohmann::json;

namespace {

struct SeriesResult {
  json points = json::array();
  std::int64_t source_rows = 0;
};

// Buckets of one session (`by_session`) or of every session of a channel over [from, to):
// raw rows, or the hourly table for a plan.hourly. The channel's session ids are fetched
// first (an ARRAY init-plan), so both read only their own rows through the
// (livestream_id, time) indexes.
SeriesResult run_series(db::Connection& conn, bool by_session, std::int64_t id, TimePoint from,
                        TimePoint to, const SeriesPlan& plan) {
  std::string sql;
  TimePoint origin = from;
  if (!plan.hourly) {
    sql = std::string("SELECT " ST_TS(
              "b") ", v, c, br, n FROM (SELECT date_bin(make_interval(secs "
                   "=> $2::double precision), m.\"timestamp\", $3::timestamptz) AS b, "
                   "avg(m.viewer_count)::float8 AS v, sum(m.chat_messages) AS c, "
                   "avg(m.bitrate_kbps) AS br, count(*) AS n FROM livestream_metrics m ") +
          (by_session ? "WHERE m.livestream_id = $1"
                      : "WHERE m.livestream_id = ANY (ARRAY(SELECT id FROM livestreams WHERE "
                        "channel_id = $1))") +
          " AND m.\"timestamp\" >= $3::timestamptz AND m.\"timestamp\" < $4::timestamptz "
          "GROUP BY 1) AS buckets ORDER BY b";
  } else {
    origin = std::chrono::floor<std::chrono::hours>(from);
    sql = std::string("SELECT " ST_TS(
              "b") ", v, c, br, n FROM (SELECT date_bin(make_interval(secs "
                   "=> $2::double precision), h.hour, $3::timestamptz) AS b, "
                   "sum(h.avg_viewers * h.data_points) / nullif(sum(h.data_points) FILTER "
                   "(WHERE h.avg_viewers IS NOT NULL), 0) AS v, sum(h.chat_messages) AS c, "
                   "sum(h.avg_bitrate_kbps * h.data_points) / nullif(sum(h.data_points) "
                   "FILTER (WHERE h.avg_bitrate_kbps IS NOT NULL), 0) AS br, count(*) AS n "
                   "FROM stream_analytics_hourly h ") +
          (by_session ? "WHERE h.livestream_id = $1"
                      : "WHERE h.livestream_id = ANY (ARRAY(SELECT id FROM livestreams WHERE "
                        "channel_id = $1))") +
          " AND h.hour >= $3::timestamptz AND h.hour < $4::timestamptz "
          "GROUP BY 1) AS buckets ORDER BY b";
  }
  const auto r = conn.query(sql, {std::to_string(id), std::to_string(plan.step_seconds),
                                  format_rfc3339(origin), format_rfc3339(to)});
  SeriesResult out;
  for (int i = 0; i < r.rows(); ++i) {
    out.points.push_back({{"t", r.text(i, 0)},
                          {"viewers", real_or_null(r, i, 1)},
                          {"chat", int_or_null(r, i, 2)},
                          {"bitrate_kbps", real_or_null(r, i, 3)}});
    out.source_rows += r.integer(i, 4);
  }
  return out;
}

Response series_reply(const Request& request, const Query& query, json head,
                      const SeriesResult& result, const std::string& filename) {
  if (wants_csv(request, query)) {
    std::string out = "t,viewers,chat,bitrate_kbps\n";
    for (const auto& p : result.points) {
      out += p["t"].get<std::string>() + "," + csv_number(p["viewers"]) + "," +
             csv_number(p["chat"]) + "," + csv_number(p["bitrate_kbps"]) + "\n";
    }
    return csv_reply(std::move(out), filename);
  }
  head["points"] = result.points;
  head["source_rows"] = result.source_rows;
  return json_reply(head);
}

}  // namespace

Response Api::channel_series(const Request& request, std::int64_t channel_id) {
  Query query(request.raw_query, {"from", "to", "step", "format"});
  (void)wants_csv(request, query);  // validates `format` before any query runs
  const auto now = std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
  const auto to = query.time("to").value_or(TimePoint(now));
  const auto from = query.time("from").value_or(to - std::chrono::hours(24));
  const auto plan =
      plan_series(from, to, query.optional_integer("step", -1'000'000'000'000, 1'000'000'000'000),
                  m_options.raw_max_span, m_options.max_points);
  auto conn = m_pool.acquire();
  require_channel(*conn, channel_id, "id");
  const auto result = run_series(*conn, false, channel_id, from, to, plan);
  json head{{"channel_id", channel_id},
            {"from", format_rfc3339(from)},
            {"to", format_rfc3339(to)},
            {"step_seconds", plan.step_seconds},
            {"resolution", plan.hourly ? "hourly" : "raw"}};
  return series_reply(request, query, head, result,
                      "channel-" + std::to_string(channel_id) + "-series.csv");
}

Response Api::session_series(const Request& request, std::int64_t session_id) {
  Query query(request.raw_query, {"step", "format"});
  (void)wants_csv(request, query);
  const auto step = query.optional_integer("step", -1'000'000'000'000, 1'000'000'000'000);
  auto conn = m_pool.acquire();
  const auto s = conn->query(
      "SELECT channel_id, " ST_TS("started_at") ", " ST_TS(
          "coalesce(ended_at, last_sample_at) + interval '1 millisecond'") " FROM livestreams "
                                                                           "WHERE id = $1",
      {std::to_string(session_id)});
  if (s.rows() == 0) throw not_found("id", "no session with id " + std::to_string(session_id));
  const auto from = *parse_rfc3339(s.text(0, 1));
  const auto to = *parse_rfc3339(s.text(0, 2));
  const auto plan = plan_series(from, to, step, m_options.raw_max_span, m_options.max_points);
  const auto result = run_series(*conn, true, session_id, from, to, plan);
  json head{{"channel_id", s.integer(0, 0)},     {"session_id", session_id},
            {"from", format_rfc3339(from)},      {"to", format_rfc3339(to)},
            {"step_seconds", plan.step_seconds}, {"resolution", plan.hourly ? "hourly" : "raw"}};
  return series_reply(request, query, head, result,
                      "session-" + std::to_string(session_id) + "-series.csv");
}
}  // namespace streamtrack::web::api
