#include "web/api/api.hpp"

#include <nlohmann/json.hpp>

#include "common/daemon/log.hpp"
#include "web/api/params.hpp"

namespace streamtrack::web::api {

using nlohmann::json;

namespace {

// One page of a keyset-paginated list. A cursor is opaque to clients, so a forged one whose key
// does not parse as the sort column's type (SQLSTATE class 22) is the client's error, not ours.
db::Result query_page(db::Connection& conn, const std::string& sql, const db::Params& params,
                      bool has_cursor) {
  try {
    return conn.query(sql, params);
  } catch (const db::PgError& e) {
    if (has_cursor && e.sqlstate().starts_with("22")) throw bad_cursor();
    throw;
  }
}

// RFC 3339 UTC with milliseconds, as every time in the API (sessions run with TimeZone=UTC).
#define ST_TS(x) "to_char((" x ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

constexpr const char* k_channel_select =
    "SELECT cc.channel_id, cc.platform, cc.name, cc.live, cc.viewers, cc.chat_per_minute, "
    "cc.bitrate_kbps, cc.livestream_id, l.title, l.category, " ST_TS("cc.last_sample_at") " ";
constexpr const char* k_channel_from =
    " FROM channel_current cc LEFT JOIN livestreams l ON l.id = cc.livestream_id ";
constexpr int k_channel_columns = 11;

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

json text_or_null(const db::Result& r, int row, int col) {
  return r.is_null(row, col) ? json(nullptr) : json(r.text(row, col));
}
json int_or_null(const db::Result& r, int row, int col) {
  return r.is_null(row, col) ? json(nullptr) : json(r.integer(row, col));
}
json real_or_null(const db::Result& r, int row, int col) {
  return r.is_null(row, col) ? json(nullptr) : json(r.real(row, col));
}

json channel_json(const db::Result& r, int row) {
  return {{"id", r.integer(row, 0)},
          {"platform", r.text(row, 1)},
          {"name", r.text(row, 2)},
          {"live", r.boolean(row, 3)},
          {"viewers", int_or_null(r, row, 4)},
          {"chat_per_minute", real_or_null(r, row, 5)},
          {"bitrate_kbps", real_or_null(r, row, 6)},
          {"session_id", int_or_null(r, row, 7)},
          {"title", text_or_null(r, row, 8)},
          {"category", text_or_null(r, row, 9)},
          {"last_sample_at", text_or_null(r, row, 10)}};
}

Response json_reply(const json& body, int status = 200) {
  Response r;
  r.status = status;
  r.body = dump(body);
  r.headers.emplace_back("Cache-Control", "no-cache");
  return r;
}

bool wants_csv(const Request& request, const Query& query) {
  const auto format = query.choice("format", "json", {"json", "csv"});
  if (format == "csv") return true;
  if (query.get("format")) return false;
  const auto accept = request.header("accept").value_or("");
  return accept.find("text/csv") != std::string::npos &&
         accept.find("application/json") == std::string::npos;
}

Response csv_reply(std::string body, const std::string& filename) {
  Response r;
  r.content_type = "text/csv; charset=utf-8";
  r.body = std::move(body);
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + filename + "\"");
  return r;
}

std::string csv_number(const json& v) {
  if (v.is_null()) return "";
  if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
  return v.dump();
}

bool etag_matches(const std::optional<std::string>& header, const std::string& etag) {
  if (!header) return false;
  const auto strip_weak = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    if (s.starts_with("W/")) s.remove_prefix(2);
    return s;
  };
  const auto want = strip_weak(etag);
  std::string_view rest = *header;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const auto item = strip_weak(rest.substr(0, comma));
    if (item == "*" || item == want) return true;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return false;
}

// Splits "/api/v1/channels/12/series" into {"channels", "12", "series"}.
std::vector<std::string> segments(std::string_view path) {
  std::vector<std::string> out;
  while (!path.empty()) {
    const auto slash = path.find('/');
    if (slash != 0) out.emplace_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

std::string pg_time(TimePoint t) {
  return format_rfc3339(t);
}

}  // namespace

Api::Api(db::Pool& pool, live::Hub& hub, ApiOptions options)
    : m_pool(pool),
      m_hub(hub),
      m_options(options),
      m_stats(options.stats_window, [this] { return compute_stats(); }) {}

Response Api::handle(const Request& request) {
  try {
    return route(request);
  } catch (const ApiError& e) {
    Response r;
    r.status = e.status();
    r.body = e.body();
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
  } catch (const db::PoolBusy& e) {
    log::warning("api: pool busy path=" + log::quote(request.path));
    Response r = json_reply({{"error",
                              {{"code", "busy"},
                               {"parameter", nullptr},
                               {"message", "the server is busy; try again"}}}},
                            503);
    r.headers.emplace_back("Retry-After", "1");
    return r;
  } catch (const db::PgError& e) {
    log::warning("api: database error path=" + log::quote(request.path) +
                 " sqlstate=" + e.sqlstate() + " error=" + log::quote(e.what()));
    const bool timeout = e.timed_out();
    Response r = json_reply(
        {{"error",
          {{"code", timeout ? "timeout" : "database_unavailable"},
           {"parameter", nullptr},
           {"message", timeout ? "the query took too long" : "the database is unavailable"}}}},
        503);
    r.headers.emplace_back("Retry-After", "2");
    return r;
  } catch (const std::exception& e) {
    log::error("api: internal error path=" + log::quote(request.path) +
               " error=" + log::quote(e.what()));
    return json_reply(
        {{"error", {{"code", "internal"}, {"parameter", nullptr}, {"message", "internal error"}}}},
        500);
  }
}

Response Api::route(const Request& request) {
  if (request.method != "GET" && request.method != "HEAD") {
    Response r = json_reply({{"error",
                              {{"code", "method_not_allowed"},
                               {"parameter", nullptr},
                               {"message", "only GET and HEAD are served"}}}},
                            405);
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  const auto parts = segments(request.path);
  if (parts.size() < 3 || parts[0] != "api" || parts[1] != "v1") {
    throw ApiError(404, "not_found", "", "no such endpoint: " + request.path);
  }
  const auto n = parts.size();
  const auto& what = parts[2];
  if (n == 3 && what == "stats") return get_stats(request);
  if (n == 3 && what == "channels") return list_channels(request);
  if (n == 3 && what == "alerts") return list_alerts(request);
  if (n == 3 && what == "agents") return list_agents(request);
  if (n == 3 && what == "live") return live(request);
  if (what == "channels" && n >= 4) {
    const auto id = parse_id(parts[3], "id");
    if (n == 4) return get_channel(request, id);
    if (n == 5 && parts[4] == "sessions") return list_sessions(request, id);
    if (n == 5 && parts[4] == "series") return channel_series(request, id);
  }
  if (what == "sessions" && n >= 4) {
    const auto id = parse_id(parts[3], "id");
    if (n == 4) return get_session(request, id);
    if (n == 5 && parts[4] == "series") return session_series(request, id);
  }
  throw ApiError(404, "not_found", "", "no such endpoint: " + request.path);
}

StatsSnapshot Api::compute_stats() {
  auto conn = m_pool.acquire();
  const auto r = conn->query(R"sql(
SELECT count(*) FILTER (WHERE live),
       coalesce(sum(viewers) FILTER (WHERE live), 0),
       coalesce(sum(chat_per_minute) FILTER (WHERE live), 0),
       (SELECT count(*) FROM agents WHERE state = 'online'),
       (SELECT count(*) FROM alerts WHERE resolved_at IS NULL AND state = 'firing'),
       (SELECT max(total) FROM (SELECT sum(peak_viewers) AS total FROM stream_analytics_hourly
                                WHERE hour >= date_trunc('day', now()) GROUP BY hour) AS hours),
       )sql" ST_TS("now()") R"sql(
FROM channel_current
)sql");
  const auto viewers = r.integer(0, 1);
  const auto peak = r.is_null(0, 5) ? viewers : std::max(viewers, r.integer(0, 5));
  json figures{{"live_channels", r.integer(0, 0)}, {"viewers_now", viewers},
               {"peak_viewers_today", peak},       {"chat_per_minute", r.real(0, 2)},
               {"agents_online", r.integer(0, 3)}, {"open_alerts", r.integer(0, 4)}};
  StatsSnapshot s;
  s.figures = dump(figures);
  s.etag = weak_etag(s.figures);
  figures["generated_at"] = r.text(0, 6);
  s.body = dump(figures);
  return s;
}

Response Api::get_stats(const Request& request) {
  Query query(request.raw_query, {});
  const auto snapshot = m_stats.get();
  const auto max_age = std::max<std::int64_t>(
      1, std::chrono::duration_cast<std::chrono::seconds>(m_options.stats_window).count());
  Response r;
  if (etag_matches(request.header("if-none-match"), snapshot->etag)) {
    r.status = 304;
  } else {
    r.body = snapshot->body;
  }
  r.headers.emplace_back("Cache-Control",
                         "public, max-age=" + std::to_string(max_age) + ", s-maxage=60");
  r.headers.emplace_back("ETag", snapshot->etag);
  return r;
}

Response Api::list_channels(const Request& request) {
  Query query(request.raw_query, {"sort", "order", "platform", "live", "q", "limit", "cursor"});
  const auto sort = query.choice("sort", "viewers", {"viewers", "name", "last_sample"});
  const auto order = query.choice("order", sort == "name" ? "asc" : "desc", {"asc", "desc"});
  const auto platform = query.text("platform", 64);
  const auto live = query.boolean("live");
  const auto text = query.text("q", 200);
  const auto limit = query.integer("limit", std::min<std::int64_t>(100, m_options.max_page), 1,
                                   m_options.max_page);
  const std::string kind = "channels:" + sort + ":" + order;
  std::optional<Cursor> cursor;
  if (const auto c = query.get("cursor")) cursor = decode_cursor(*c, kind);

  std::string key;
  std::string cast;
  if (sort == "viewers") {
    key = "coalesce(cc.viewers, -1)";
    cast = "::integer";
  } else if (sort == "name") {
    key = "cc.name";
    cast = "::text";
  } else {
    key = "coalesce(cc.last_sample_at, '-infinity'::timestamptz)";
    cast = "::timestamptz";
  }
  const std::string dir = order == "desc" ? " DESC" : " ASC";
  db::Params params;
  std::string where = " WHERE true";
  if (platform) {
    params.emplace_back(*platform);
    where += " AND cc.platform = $" + std::to_string(params.size());
  }
  if (live) where += *live ? " AND cc.live" : " AND NOT cc.live";
  if (text) {
    std::string pattern = "%";
    for (const char c : *text) {
      if (c == '%' || c == '_' || c == '\\') pattern += '\\';
      pattern += c;
    }
    pattern += '%';
    params.emplace_back(pattern);
    where += " AND cc.name ILIKE $" + std::to_string(params.size());
  }
  if (cursor) {
    if (sort == "viewers" && cursor->key.find_first_not_of("-0123456789") != std::string::npos) {
      throw bad_cursor();
    }
    params.emplace_back(cursor->key);
    const auto k = std::to_string(params.size());
    params.emplace_back(std::to_string(cursor->id));
    const auto i = std::to_string(params.size());
    where += " AND (" + key + ", cc.channel_id) " + (order == "desc" ? "<" : ">") + " ($" + k +
             cast + ", $" + i + "::bigint)";
  }
  const std::string sql = std::string(k_channel_select) + ", (" + key + ")::text" + k_channel_from +
                          where + " ORDER BY " + key + dir + ", cc.channel_id" + dir + " LIMIT " +
                          std::to_string(limit + 1);
  auto conn = m_pool.acquire();
  const db::Result r = query_page(*conn, sql, params, cursor.has_value());
  json items = json::array();
  const int shown = std::min<int>(r.rows(), static_cast<int>(limit));
  for (int i = 0; i < shown; ++i) items.push_back(channel_json(r, i));
  json next = nullptr;
  if (r.rows() > limit) {
    next = encode_cursor(kind, r.text(shown - 1, k_channel_columns), r.integer(shown - 1, 0));
  }
  return json_reply({{"items", items}, {"next_cursor", next}});
}

Response Api::get_channel(const Request& request, std::int64_t id) {
  Query query(request.raw_query, {});
  auto conn = m_pool.acquire();
  const auto r =
      conn->query(std::string(k_channel_select) + k_channel_from + " WHERE cc.channel_id = $1",
                  {std::to_string(id)});
  if (r.rows() == 0) throw not_found("id", "no channel with id " + std::to_string(id));
  return json_reply(channel_json(r, 0));
}

namespace {

constexpr const char* k_session_select =
    "SELECT l.id, l.channel_id, " ST_TS("l.started_at") ", " ST_TS(
        "l.ended_at") ", l.is_active, l.peak_viewers, "
                      "(SELECT sum(h.avg_viewers * h.data_points) / nullif(sum(h.data_points) "
                      "FILTER (WHERE h.avg_viewers IS NOT NULL), 0) FROM stream_analytics_hourly "
                      "h WHERE h.livestream_id = l.id), l.title, l.category, l.started_at::text "
                      "FROM livestreams l ";

json session_json(const db::Result& r, int row) {
  return {{"id", r.integer(row, 0)},
          {"channel_id", r.integer(row, 1)},
          {"started_at", r.text(row, 2)},
          {"ended_at", text_or_null(r, row, 3)},
          {"live", r.boolean(row, 4)},
          {"peak_viewers", int_or_null(r, row, 5)},
          {"avg_viewers", real_or_null(r, row, 6)},
          {"title", text_or_null(r, row, 7)},
          {"category", text_or_null(r, row, 8)}};
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
  if (conn->query("SELECT 1 FROM channels WHERE id = $1", {std::to_string(channel_id)}).rows() ==
      0) {
    throw not_found("id", "no channel with id " + std::to_string(channel_id));
  }
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
  const auto channel =
      conn->query(std::string(k_channel_select) + k_channel_from + " WHERE cc.channel_id = $1",
                  {std::to_string(body["channel_id"].get<std::int64_t>())});
  body["channel"] = channel.rows() > 0 ? channel_json(channel, 0) : json(nullptr);
  return json_reply(body);
}

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
  const auto r = conn.query(
      sql, {std::to_string(id), std::to_string(plan.step_seconds), pg_time(origin), pg_time(to)});
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
  if (conn->query("SELECT 1 FROM channels WHERE id = $1", {std::to_string(channel_id)}).rows() ==
      0) {
    throw not_found("id", "no channel with id " + std::to_string(channel_id));
  }
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

Response Api::list_alerts(const Request& request) {
  Query query(request.raw_query, {"state", "channel", "limit"});
  const auto state = query.choice("state", "open", {"open", "recent"});
  const auto channel = query.optional_integer("channel", 1, INT64_MAX);
  const auto limit = query.integer("limit", std::min<std::int64_t>(100, m_options.max_page), 1,
                                   m_options.max_page);
  db::Params params;
  std::string sql =
      "SELECT a.id, a.rule, a.severity, a.state, c.id, a.labels->>'platform', "
      "a.labels->>'channel', a.labels->>'agent', " ST_TS("coalesce(a.fired_at, a.active_since)") ", " ST_TS(
          "a.resolved_at") ", a.summary FROM alerts a LEFT JOIN channels c ON c.platform = "
                           "a.labels->>'platform' AND c.name = a.labels->>'channel' WHERE ";
  sql += state == "open"
             ? "a.resolved_at IS NULL"
             : "a.resolved_at IS NOT NULL AND a.resolved_at > now() - interval '7 days'";
  if (channel) {
    params.emplace_back(std::to_string(*channel));
    sql += " AND c.id = $1";
  }
  sql += " ORDER BY coalesce(a.resolved_at, a.active_since) DESC, a.id DESC LIMIT " +
         std::to_string(limit);
  auto conn = m_pool.acquire();
  const auto r = conn->query(sql, params);
  json items = json::array();
  for (int i = 0; i < r.rows(); ++i) {
    items.push_back({{"id", r.integer(i, 0)},
                     {"rule", r.text(i, 1)},
                     {"severity", r.text(i, 2)},
                     {"state", r.text(i, 3)},
                     {"channel_id", int_or_null(r, i, 4)},
                     {"platform", text_or_null(r, i, 5)},
                     {"channel", text_or_null(r, i, 6)},
                     {"agent_id", text_or_null(r, i, 7)},
                     {"started_at", r.text(i, 8)},
                     {"resolved_at", text_or_null(r, i, 9)},
                     {"summary", r.text(i, 10)}});
  }
  return json_reply({{"items", items}});
}

Response Api::list_agents(const Request& request) {
  Query query(request.raw_query, {});
  auto conn = m_pool.acquire();
  const auto r = conn->query("SELECT agent_id, state, " ST_TS(
      "last_seen_at") ", version, sources, health::text, "
                      "health_at IS NULL OR health_at < now() - interval '5 minutes', "
                      "status_reason "
                      "FROM agents ORDER BY agent_id LIMIT 10000");
  json items = json::array();
  for (int i = 0; i < r.rows(); ++i) {
    const bool online = !r.is_null(i, 1) && r.text(i, 1) == "online";
    json health_detail = nullptr;
    json depth = nullptr;
    json oldest = nullptr;
    std::string health = "unknown";
    if (!r.is_null(i, 5)) {
      health_detail = json::parse(r.text(i, 5), nullptr, false);
      if (health_detail.is_discarded()) health_detail = nullptr;
    }
    if (health_detail.is_object()) {
      const auto& buffer = health_detail.value("buffer", json::object());
      if (buffer.is_object()) {
        if (buffer.contains("depth") && buffer["depth"].is_number()) depth = buffer["depth"];
        if (buffer.contains("oldest_unsent_age_s") && buffer["oldest_unsent_age_s"].is_number()) {
          oldest = buffer["oldest_unsent_age_s"];
        }
      }
      health = "ok";
      const auto sources = health_detail.value("sources", json::array());
      if (sources.is_array()) {
        for (const auto& s : sources) {
          if (s.is_object() && s.contains("consecutive_errors") &&
              s["consecutive_errors"].is_number() && s["consecutive_errors"].get<double>() > 0) {
            health = "degraded";
          }
        }
      }
      if (r.boolean(i, 6)) health = "stale";
    }
    if (!online) health = "offline";
    items.push_back({{"agent_id", r.text(i, 0)},
                     {"state", text_or_null(r, i, 1)},
                     {"online", online},
                     {"last_seen", r.text(i, 2)},
                     {"version", text_or_null(r, i, 3)},
                     {"sources", int_or_null(r, i, 4)},
                     {"buffer_depth", depth},
                     {"oldest_unsent_seconds", oldest},
                     {"health", health},
                     {"health_detail", health_detail},
                     {"status_reason", text_or_null(r, i, 7)}});
  }
  return json_reply({{"items", items}});
}

Response Api::live(const Request& request) {
  Query query(request.raw_query, {"channel"});
  const auto channel = query.optional_integer("channel", 1, INT64_MAX);
  std::optional<std::uint64_t> last_event_id;
  if (const auto h = request.header("last-event-id"); h && !h->empty()) {
    if (h->size() > 19 || h->find_first_not_of("0123456789") != std::string::npos) {
      throw bad_parameter("Last-Event-ID", "expected the id of an event this server sent");
    }
    last_event_id = std::stoull(*h);
  }
  if (channel) {
    auto conn = m_pool.acquire();
    if (conn->query("SELECT 1 FROM channels WHERE id = $1", {std::to_string(*channel)}).rows() ==
        0) {
      throw not_found("channel", "no channel with id " + std::to_string(*channel));
    }
  }
  auto place = m_hub.reserve_place(m_options.max_live_clients);
  if (!place) {
    Response r = json_reply(
        {{"error",
          {{"code", "busy"}, {"parameter", nullptr}, {"message", "too many live clients"}}}},
        503);
    r.headers.emplace_back("Retry-After", "5");
    return r;
  }
  Response r;
  r.content_type = "text/event-stream; charset=utf-8";
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("X-Accel-Buffering", "no");
  if (request.method == "HEAD") return r;  // the headers only, no subscription
  // The place moves from the pending stream to its subscription and is released when the
  // subscription ends (or with this reply, if the stream never opens).
  r.open_stream = [this, channel, last_event_id,
                   place = std::move(place)](std::shared_ptr<EventSink> sink) mutable {
    sink->send(std::make_shared<const std::string>("retry: 1000\n\n"));
    const auto id = m_hub.subscribe(sink, channel, last_event_id);
    return std::function<void()>([this, id, held = std::move(place)]() mutable {
      m_hub.unsubscribe(id);
      held.reset();
    });
  };
  return r;
}

}  // namespace streamtrack::web::api
