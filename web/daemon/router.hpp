#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status/status_server.hpp"
#include "web/api/api.hpp"
#include "web/daemon/web_metrics.hpp"
#include "web/http/auth.hpp"
#include "web/http/static_files.hpp"

// Which part of streamtrack-web answers a path:
//   /healthz, /readyz        status JSON like the other daemons (never behind auth)
//   /metrics                 Prometheus text
//   /api/...                 the JSON API (web/api/)
//   /vendor/chart.js/...     Debian's libjs-chart.js directory
//   /sw.js                   the service worker from ui_dir, with Service-Worker-Allowed: /
//   anything else            a file under ui_dir ("/" is index.html)
namespace streamtrack::web {

class Router {
 public:
  Router(api::Api& api, std::shared_ptr<const http::Auth> auth, http::StaticFiles ui,
         http::StaticFiles chartjs, WebMetrics& metrics);

  // Adds a named readiness check for /readyz (thread-safe, quick: read an atomic).
  void add_check(std::string name, streamtrack::status::Check check);

  // Never throws.
  Response handle(const Request& request);
  // True when handle() needs neither PostgreSQL nor a password hash (files, health, metrics
  // with cheap credentials): the event loop may answer it itself.
  bool answers_quickly(const Request& request) const;

  // Replaces the authentication (SIGHUP re-reads the token or password file). Thread-safe:
  // requests in progress finish with the old one.
  void set_auth(std::shared_ptr<const http::Auth> auth);

 private:
  Response dispatch(const Request& request, std::string& route);
  Response status(bool ready) const;

  api::Api& m_api;
  mutable std::mutex m_auth_mutex;
  std::shared_ptr<const http::Auth> m_auth;
  http::StaticFiles m_ui;
  http::StaticFiles m_chartjs;
  WebMetrics& m_metrics;
  std::vector<std::pair<std::string, streamtrack::status::Check>> m_checks;
};

}  // namespace streamtrack::web
