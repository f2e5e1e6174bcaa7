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
  // Each handler validates the query first, then queries; it throws ApiError for the client's
  // mistakes and db errors as they come (handle() turns both into replies).
  Response route(const Request& request);                                    // api.cpp
  Response get_stats(const Request& request);                                // stats.cpp
  StatsSnapshot compute_stats();                                             // stats.cpp
  Response list_channels(const Request& request);                            // channels.cpp
  Response get_channel(const Request& request, std::int64_t id);             // channels.cpp
  Response list_sessions(const Request& request, std::int64_t channel_id);   // sessions.cpp
  Response get_session(const Request& request, std::int64_t id);             // sessions.cpp
  Response channel_series(const Request& request, std::int64_t channel_id);  // series.cpp
  Response session_series(const Request& request, std::int64_t session_id);  // series.cpp
  Response list_alerts(const Request& request);                              // alerts.cpp
  Response list_agents(const Request& request);                              // agents.cpp
  Response live(const Request& request);                                     // live.cpp

  db::Pool& m_pool;
  live::Hub& m_hub;
  ApiOptions m_options;
  StatsCache m_stats;
};

}  // namespace streamtrack::web::api
