#include <nlohmann/json.hpp>

#include "web/api/api.hpp"
#include "web/api/channels.hpp"
#include "web/api/params.hpp"
#include "web/api/reply.hpp"

// GET /api/v1/channels/{id}/sessions and /api/v1/sessions/{id}.
namespace streamtrack::web::api {

using nlohmann::json;

namespace {

constexpr const char* k_session_select =
    "SELECT l.id, l.channel_id, " ST_TS("l.started_at") ", " ST_TS(
        "l.ended_at") ", l.is_active, l.peak_viewers, "
                      "(SELECT sum(h.avg_viewers * h.data_points) / nullif(sum(h.data_points) "
                      "FILTER (WHERE h.avg_viewers IS NOT NULL), 0) FROM stream_analytics_hourly "
                      "h WHERE h.livestream_id = l.id), l.title, l.category, l.started_at::text "
                      "FROM livestreams l ";

json session_json(const db::Result& r, int row) {
  return row_json(r, row,
                  {{"id", Column::integer},
                   {"channel_id", Column::integer},
                   {"started_at", Column::text},
                   {"ended_at", Column::text_or_null},
                   {"live", Column::boolean},
                   {"peak_viewers", Column::integer_or_null},
                   {"avg_viewers", Column::real_or_null},
                   {"title", Column::text_or_null},
                   {"category", Column::text_or_null}});
}

}  // namespace

Response Api::list_sessions(const Request& request, std::int64_t channel_id) {
  Query query(request.raw_query, {"limit", "cursor", "format"});
  const bool csv = wants_csv(request, query);
  const auto limit = query.integer("limit", std::min<std::int64_t>(100, m_options.max_page), 1,
                                   m_options.max_page);
  std::optional<Cursor> cursor;
  if (const auto c = query.get("cursor")) cursor = decode_cursor(*c, "sessions");
  auto conn = m_pool.acquire();
  require_channel(*conn, channel_id, "id");
  db::Params params{std::to_string(channel_id)};
  std::string sql = std::string(k_session_select) + "WHERE l.channel_id = $1";
  if (cursor) {
    params.emplace_back(cursor->key);
    params.emplace_back(std::to_string(cursor->id));
    sql += " AND (l.started_at, l.id) < ($2::timestamptz, $3::bigint)";
  }
  sql += " ORDER BY l.started_at DESC, l.id DESC LIMIT " + std::to_string(limit + 1);
  const db::Result r = query_page(*conn, sql, params, cursor.has_value());
  const int shown = std::min<int>(r.rows(), static_cast<int>(limit));
  json next = nullptr;
  if (r.rows() > limit)
    next = encode_cursor("sessions", r.text(shown - 1, 9), r.integer(shown - 1, 0));
  if (csv) {
    std::string out =
        "id,channel_id,started_at,ended_at,live,peak_viewers,avg_viewers,title,category\n";
    for (int i = 0; i < shown; ++i) {
      const auto s = session_json(r, i);
      out += std::to_string(s["id"].get<std::int64_t>()) + "," +
             std::to_string(s["channel_id"].get<std::int64_t>()) + "," +
             s["started_at"].get<std::string>() + "," +
             (s["ended_at"].is_null() ? "" : s["ended_at"].get<std::string>()) + "," +
             (s["live"].get<bool>() ? "true" : "false") + "," + csv_number(s["peak_viewers"]) +
             "," + csv_number(s["avg_viewers"]) + "," +
             csv_field(s["title"].is_null() ? "" : s["title"].get<std::string>()) + "," +
             csv_field(s["category"].is_null() ? "" : s["category"].get<std::string>()) + "\n";
    }
    auto reply =
        csv_reply(std::move(out), "channel-" + std::to_string(channel_id) + "-sessions.csv");
    if (!next.is_null()) reply.headers.emplace_back("X-Next-Cursor", next.get<std::string>());
    return reply;
  }
  json items = json::array();
  for (int i = 0; i < shown; ++i) items.push_back(session_json(r, i));
  return json_reply({{"items", items}, {"next_cursor", next}});
}

Response Api::get_session(const Request& request, std::int64_t id) {
  Query query(request.raw_query, {});
  auto conn = m_pool.acquire();
  const auto s =
      conn->query(std::string(k_session_select) + "WHERE l.id = $1", {std::to_string(id)});
  if (s.rows() == 0) throw not_found("id", "no session with id " + std::to_string(id));
  json body = session_json(s, 0);
  const auto figures = conn->query(R"sql(
SELECT extract(epoch FROM coalesce(l.ended_at, l.last_sample_at) - l.started_at)::bigint,
       f.chat_total, f.bitrate_avg, f.bitrate_min, f.bitrate_max, f.bitrate_stddev,
       f.avg_viewers, f.peak_chat
FROM livestreams l, LATERAL (
  SELECT sum(chat_messages) AS chat_total, avg(bitrate_kbps) AS bitrate_avg,
         min(bitrate_kbps) AS bitrate_min, max(bitrate_kbps) AS bitrate_max,
         stddev_pop(bitrate_kbps) AS bitrate_stddev, avg(viewer_count)::float8 AS avg_viewers,
         max(rate) AS peak_chat
  FROM (SELECT chat_messages, bitrate_kbps, viewer_count,
               CASE WHEN gap > 0 AND gap <= 600 THEN chat_messages * 60.0 / gap END AS rate
        FROM (SELECT m.chat_messages, m.bitrate_kbps, m.viewer_count,
                     extract(epoch FROM m."timestamp" - lag(m."timestamp")
                                        OVER (ORDER BY m."timestamp")) AS gap
              FROM livestream_metrics m
              WHERE m.livestream_id = l.id AND m."timestamp" >= l.started_at
                AND m."timestamp" <= l.last_sample_at) AS raw) AS rated) AS f
WHERE l.id = $1
)sql",
                                   {std::to_string(id)});
  body["duration_seconds"] = int_or_null(figures, 0, 0);
  body["chat_total"] = int_or_null(figures, 0, 1);
  body["bitrate"] = {{"avg", real_or_null(figures, 0, 2)},
                     {"min", real_or_null(figures, 0, 3)},
                     {"max", real_or_null(figures, 0, 4)},
                     {"stddev", real_or_null(figures, 0, 5)}};
  if (!figures.is_null(0, 6)) body["avg_viewers"] = figures.real(0, 6);
  body["peak_chat_per_minute"] = real_or_null(figures, 0, 7);
  const auto changes = conn->query(
      "SELECT " ST_TS("at") ", title, category FROM livestream_changes WHERE livestream_id = $1 "
      "ORDER BY at, id LIMIT 1000",
      {std::to_string(id)});
  json list = json::array();
  for (int i = 0; i < changes.rows(); ++i) {
    list.push_back({{"at", changes.text(i, 0)},
                    {"title", text_or_null(changes, i, 1)},
                    {"category", text_or_null(changes, i, 2)}});
  }
  body["changes"] = list;
  body["channel"] = channel_or_null(*conn, body["channel_id"].get<std::int64_t>());
  return json_reply(body);
}
}  // namespace streamtrack::web::api
