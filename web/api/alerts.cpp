#include <nlohmann/json.hpp>

#include "web/api/api.hpp"
#include "web/api/params.hpp"
#include "web/api/reply.hpp"

// GET /api/v1/alerts.
namespace streamtrack::web::api {

using nlohmann::json;

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
    items.push_back(row_json(r, i,
                             {{"id", Column::integer},
                              {"rule", Column::text},
                              {"severity", Column::text},
                              {"state", Column::text},
                              {"channel_id", Column::integer_or_null},
                              {"platform", Column::text_or_null},
                              {"channel", Column::text_or_null},
                              {"agent_id", Column::text_or_null},
                              {"started_at", Column::text},
                              {"resolved_at", Column::text_or_null},
                              {"summary", Column::text}}));
  }
  return json_reply({{"items", items}});
}
}  // namespace streamtrack::web::api
