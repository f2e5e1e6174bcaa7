#include "common/status/status_server.hpp"

#include <civetweb.h>

#include <cstring>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "common/daemon/log.hpp"
#include "common/status/listen.hpp"
#include "common/util/time.hpp"
#include "common/version.hpp"

namespace streamtrack::status {

namespace {

constexpr unsigned k_feature_ipv6 = 8;

void reply(mg_connection* conn, int status, std::string_view content_type,
           const std::string& body) {
  const auto* request = mg_get_request_info(conn);
  const bool head = request != nullptr && std::strcmp(request->request_method, "HEAD") == 0;
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %.*s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
            status, mg_get_response_code_text(conn, status), static_cast<int>(content_type.size()),
            content_type.data(), body.size());
  if (!head) mg_write(conn, body.data(), body.size());
}

}  // namespace

struct StatusServer::Impl {
  const Metrics* metrics = nullptr;
  std::string version;
  mg_context* context = nullptr;
  std::uint16_t port = 0;
  std::mutex mutex;
  std::vector<std::pair<std::string, Check>> checks;

  // `status`: "healthy" on /healthz (the seed's shape), "ok" or "fail" on /readyz.
  nlohmann::json envelope(std::string_view status) const {
    const auto now =
        std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
    return {{"status", status},
            {"timestamp", format_rfc3339(now)},
            {"version", version},
            {"daemon", metrics->daemon()}};
  }

  int handle(mg_connection* conn) {
    const auto* request = mg_get_request_info(conn);
    const std::string method = request->request_method;
    const std::string uri = request->local_uri != nullptr ? request->local_uri : "";
    constexpr std::string_view k_json = "application/json";
    if (method != "GET" && method != "HEAD") {
      reply(conn, 405, k_json,
            R"({"status":"fail","error":"method not allowed"})"
            "\n");
      return 1;
    }
    if (uri == "/metrics") {
      reply(conn, 200, "text/plain; version=0.0.4; charset=utf-8", metrics->render());
    } else if (uri == "/healthz") {
      reply(conn, 200, k_json, envelope("healthy").dump() + "\n");
    } else if (uri == "/readyz") {
      readyz(conn);
    } else {
      reply(conn, 404, k_json,
            R"({"status":"fail","error":"not found; try /metrics, /healthz or /readyz"})"
            "\n");
    }
    return 1;
  }

  void readyz(mg_connection* conn) {
    std::vector<std::pair<std::string, Check>> copy;
    {
      std::lock_guard lock(mutex);
      copy = checks;
    }
    bool ok = true;
    auto results = nlohmann::json::object();
    std::vector<std::string> failing;
    for (const auto& [name, check] : copy) {
      CheckResult result;
      try {
        result = check();
      } catch (const std::exception& e) {
        result = {false, std::string("check threw: ") + e.what()};
      }
      results[name] = {{"ok", result.ok}, {"detail", result.detail}};
      if (!result.ok) {
        ok = false;
        failing.push_back(name);
      }
    }
    auto body = envelope(ok ? "ok" : "fail");
    body["checks"] = results;
    if (!ok) body["failing"] = failing;
    reply(conn, ok ? 200 : 503, "application/json", body.dump() + "\n");
  }
};

StatusServer::StatusServer(const Options& options, const Metrics& metrics)
    : m_impl(std::make_unique<Impl>()) {
  m_impl->metrics = &metrics;
  m_impl->version = options.version.empty() ? std::string(k_version) : options.version;
  auto address = parse_listen(options.listen);
  if (!address) {
    throw std::runtime_error("[http] listen: " + address.error());
  }
  if (address->ipv6 && (mg_check_feature(k_feature_ipv6) == 0)) {
    throw std::runtime_error("[http] listen: \"" + options.listen +
                             "\": this civetweb was built without IPv6");
  }
  const std::string ports = to_string(*address);
  const char* config[] = {"listening_ports",    ports.c_str(), "num_threads", "2",
                          "request_timeout_ms", "10000",       nullptr};
  mg_callbacks callbacks{};
  callbacks.begin_request = [](mg_connection* conn) -> int {
    auto* impl = static_cast<Impl*>(mg_get_user_data(mg_get_context(conn)));
    return impl->handle(conn);
  };
  callbacks.log_message = [](const mg_connection*, const char* message) -> int {
    log::warning(std::string("http: ") + message);
    return 1;
  };
  mg_init_data init{};
  init.callbacks = &callbacks;
  init.user_data = m_impl.get();
  init.configuration_options = config;
  char text[256] = {};
  unsigned code = 0;
  mg_error_data error{};
  error.code = &code;
  error.text = text;
  error.text_buffer_size = sizeof text;
  m_impl->context = mg_start2(&init, &error);
  if (m_impl->context == nullptr) {
    throw std::runtime_error("[http] listen: cannot serve on " + ports + ": " +
                             (text[0] != '\0' ? std::string(text) : "civetweb failed to start"));
  }
  mg_server_port bound[4] = {};
  const int n = mg_get_server_ports(m_impl->context, 4, bound);
  if (n > 0) m_impl->port = static_cast<std::uint16_t>(bound[0].port);
  if (!address->loopback) {
    log::warning("http: listen=" + ports +
                 " is not a loopback address; /metrics and /readyz are reachable from the network");
  }
  log::info("http: serving /metrics /healthz /readyz listen=" + ports +
            " port=" + std::to_string(m_impl->port));
}

StatusServer::~StatusServer() {
  if (m_impl->context != nullptr) mg_stop(m_impl->context);
}

void StatusServer::add_check(std::string name, Check check) {
  std::lock_guard lock(m_impl->mutex);
  m_impl->checks.emplace_back(std::move(name), std::move(check));
}

std::uint16_t StatusServer::port() const {
  return m_impl->port;
}

std::unique_ptr<StatusServer> start_status_server(const std::string& listen,
                                                  const Metrics& metrics) {
  if (listen.empty()) return nullptr;
  return std::make_unique<StatusServer>(StatusServer::Options{listen, {}}, metrics);
}

Check max_age_check(std::function<std::optional<Seconds>()> age, Seconds limit) {
  return [age = std::move(age), limit]() -> CheckResult {
    const auto value = age();
    if (!value) return {false, "none yet"};
    char text[64];
    std::snprintf(text, sizeof text, "age %.1fs, limit %.1fs", value->count(), limit.count());
    return {*value < limit, text};
  };
}

}  // namespace streamtrack::status
