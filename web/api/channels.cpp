#include "web/api/channels.hpp"

#include <nlohmann/json.hpp>

#include "web/api/api.hpp"
#include "web/api/params.hpp"
#include "web/api/reply.hpp"

namespace streamtrack::web::api {

using nlohmann::json;

namespace {

constexpr const char* k_channel_select =
    "SELECT cc.channel_id, cc.platform, cc.name, cc.live, cc.viewers, cc.chat_per_minute, "
    "cc.bitrate_kbps, cc.livestream_id, l.title, l.category, " ST_TS("cc.last_sample_at") " ";
constexpr const char* k_channel_from =
    " FROM channel_current cc LEFT JOIN livestreams l ON l.id = cc.livestream_id ";
constexpr int k_channel_columns = 11;  // the sort key follows them in a list's rows

json channel_json(const db::Result& r, int row) {
  return row_json(r, row,
                  {{"id", Column::integer},
                   {"platform", Column::text},
                   {"name", Column::text},
                   {"live", Column::boolean},
                   {"viewers", Column::integer_or_null},
                   {"chat_per_minute", Column::real_or_null},
                   {"bitrate_kbps", Column::real_or_null},
                   {"session_id", Column::integer_or_null},
                   {"title", Column::text_or_null},
                   {"category", Column::text_or_null},
                   {"last_sample_at", Column::text_or_null}});
}

db::Result query_channel(db::Connection& conn, std::int64_t id) {
  return conn.query(std::string(k_channel_select) + k_channel_from + " WHERE cc.channel_id = $1",
                    {std::to_string(id)});
}

}  // namespace

json channel_or_null(db::Connection& conn, std::int64_t id) {
  const auto r = query_channel(conn, id);
  return r.rows() > 0 ? channel_json(r, 0) : json(nullptr);
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
  const auto r = query_channel(*conn, id);
  if (r.rows() == 0) throw not_found("id", "no channel with id " + std::to_string(id));
  return json_reply(channel_json(r, 0));
}

}  // namespace streamtrack::web::api
