#include "web/daemon/router.hpp"

#include <nlohmann/json.hpp>

#include "common/version.hpp"
#include "web/api/params.hpp"

namespace streamtrack::web {

using nlohmann::json;

Router::Router(api::Api& api, std::shared_ptr<const http::Auth> auth, http::StaticFiles ui,
               http::StaticFiles chartjs, WebMetrics& metrics)
    : m_api(api),
      m_auth(std::move(auth)),
      m_ui(std::move(ui)),
      m_chartjs(std::move(chartjs)),
      m_metrics(metrics) {}

void Router::add_check(std::string name, streamtrack::status::Check check) {
  m_checks.emplace_back(std::move(name), std::move(check));
}

Response Router::handle(const Request& request) {
  const auto start = std::chrono::steady_clock::now();
  std::string route = "other";
  Response response;
  try {
    response = dispatch(request, route);
  } catch (const std::exception& e) {
    response.status = 500;
    response.body = api::ApiError(500, "internal", "", "internal error").body();
  }
  m_metrics.request_done(route, response.status, std::chrono::steady_clock::now() - start);
  return response;
}

bool Router::answers_quickly(const Request& request) const {
  if (request.path.starts_with("/api/")) return false;
  std::lock_guard lock(m_auth_mutex);
  return m_auth->is_cheap(request);
}

void Router::set_auth(std::shared_ptr<const http::Auth> auth) {
  std::lock_guard lock(m_auth_mutex);
  m_auth = std::move(auth);
}

Response Router::status(bool ready) const {
  const auto now = std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
  json body{{"status", ready ? "ok" : "healthy"},  // /readyz sets ok or fail below
            {"timestamp", format_rfc3339(now)},
            {"version", k_version},
            {"daemon", "streamtrack-web"}};
  Response r;
  r.headers.emplace_back("Cache-Control", "no-store");
  if (!ready) {
    r.body = body.dump() + "\n";
    return r;
  }
  bool ok = true;
  json checks = json::object();
  std::vector<std::string> failing;
  for (const auto& [name, check] : m_checks) {
    const auto result = check();
    checks[name] = {{"ok", result.ok}, {"detail", result.detail}};
    if (!result.ok) {
      ok = false;
      failing.push_back(name);
    }
  }
  body["status"] = ok ? "ok" : "fail";
  body["checks"] = checks;
  if (!ok) body["failing"] = failing;
  r.status = ok ? 200 : 503;
  r.body = body.dump() + "\n";
  return r;
}

Response Router::dispatch(const Request& request, std::string& route) {
  const auto& path = request.path;
  if (path == "/healthz") {
    route = "healthz";
    return status(false);
  }
  if (path == "/readyz") {
    route = "readyz";
    return status(true);
  }
  const auto auth = [this] {
    std::lock_guard lock(m_auth_mutex);
    return m_auth;
  }();
  if (auto denied = auth->check(request)) {
    route = "unauthorized";
    return std::move(*denied);
  }
  if (path == "/metrics") {
    route = "metrics";
    Response r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = m_metrics.render();
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
  }
  if (path.starts_with("/api/")) {
    const std::string parts = path.size() > 8 ? path.substr(8) : std::string();
    route = parts.starts_with("channels/") ? (parts.ends_with("/series")     ? "channel_series"
                                              : parts.ends_with("/sessions") ? "sessions"
                                                                             : "channel")
            : parts.starts_with("sessions/")
                ? (parts.ends_with("/series") ? "session_series" : "session")
            : parts == "stats" || parts == "channels" || parts == "alerts" || parts == "agents" ||
                    parts == "live"
                ? parts
                : "api_other";
    auto response = m_api.handle(request);
    if (auth->mode() != AuthMode::none) {
      // A reply that needed credentials must not be stored by shared caches (RFC 9111 3.5).
      for (auto& [name, value] : response.headers) {
        if (name == "Cache-Control" && value.starts_with("public")) {
          const auto shared = value.find(", s-maxage=");
          value = "private" +
                  value.substr(6, shared == std::string::npos ? std::string::npos : shared - 6);
        }
      }
    }
    return response;
  }
  if (request.method != "GET" && request.method != "HEAD") {
    Response r;
    r.status = 405;
    r.body = api::ApiError(405, "method_not_allowed", "", "only GET and HEAD are served").body();
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  route = "static";
  std::optional<Response> file;
  if (path.starts_with("/vendor/chart.js/")) {
    file = m_chartjs.serve(std::string_view(path).substr(17), request);
  } else {
    file = m_ui.serve(path, request);
    if (file && path == "/sw.js") file->headers.emplace_back("Service-Worker-Allowed", "/");
  }
  if (file) return std::move(*file);
  Response r;
  r.status = 404;
  r.body = api::ApiError(404, "not_found", "", "no such file").body();
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

}  // namespace streamtrack::web
