#include "web/api/api.hpp"

#include <string_view>
#include <vector>

#include "common/daemon/log.hpp"
#include "web/api/params.hpp"
#include "web/api/reply.hpp"

// Routing and the mapping of errors to replies; each resource family's handlers live in their
// own file (channels, sessions, series, stats, alerts, agents, live).
namespace streamtrack::web::api {

namespace {

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
    return busy_reply("busy", "the server is busy; try again", 1);
  } catch (const db::PgError& e) {
    log::warning("api: database error path=" + log::quote(request.path) +
                 " sqlstate=" + e.sqlstate() + " error=" + log::quote(e.what()));
    if (e.timed_out()) return busy_reply("timeout", "the query took too long", 2);
    return busy_reply("database_unavailable", "the database is unavailable", 2);
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

}  // namespace streamtrack::web::api
