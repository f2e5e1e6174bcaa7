#include <nlohmann/json.hpp>

#include "web/api/api.hpp"
#include "web/api/params.hpp"
#include "web/api/reply.hpp"

// GET /api/v1/agents: each agent with the health it last reported.
namespace streamtrack::web::api {

using nlohmann::json;

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
}  // namespace streamtrack::web::api
