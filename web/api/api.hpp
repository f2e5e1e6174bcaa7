#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "web/api/request.hpp"
#include "web/api/stats_cache.hpp"
#include "web/db/pg.hpp"
#include "web/live/hub.hpp"

// The JSON API under /api/v1/ (docs/api.md is the contract). Each handler validates its
// parameters first (ApiError, 4xx), then runs parameterised SQL on a pooled read-only
// connection. Thread-safe: the HTTP server calls handle() from its worker threads.
namespace streamtrack::web::api {

struct ApiOptions {
  std::int64_t max_page = 500;
  std::chrono::milliseconds raw_max_span{48LL * 3600 * 1000};
  std::int64_t max_points = 2000;
  std::chrono::milliseconds stats_window{5000};
  std::size_t max_live_clients = 10000;
};

class Api {
 public:
  Api(db::Pool& pool, live::Hub& hub, ApiOptions options);

  // Any request whose path starts with /api/. Never throws: errors become JSON replies
  // (4xx for the client's mistakes, 503 when the database is busy or unreachable).
  Response handle(const Request& request);

  // The current stats (computed at most once per window). Throws db::PgError / PoolBusy.
  std::shared_ptr<const StatsSnapshot> stats() { return m_stats.get(); }
  std::uint64_t stats_computations() const { return m_stats.computations(); }

 private:
  Response route(const Request& request);
  Response get_stats(const Request& request);
  Response list_channels(const Request& request);
  Response get_channel(const Request& request, std::int64_t id);
  Response list_sessions(const Request& request, std::int64_t channel_id);
  Response get_session(const Request& request, std::int64_t id);
  Response channel_series(const Request& request, std::int64_t channel_id);
  Response session_series(const Request& request, std::int64_t session_id);
  Response list_alerts(const Request& request);
  Response list_agents(const Request& request);
  Response live(const Request& request);
  StatsSnapshot compute_stats();

  db::Pool& m_pool;
  live::Hub& m_hub;
  ApiOptions m_options;
  StatsCache m_stats;
};

}  // namespace streamtrack::web::api
