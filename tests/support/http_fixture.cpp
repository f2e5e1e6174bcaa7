#include <civetweb.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <stdexcept>
#include <thread>

#include "tests/support/harness.hpp"

namespace streamtrack::testing {

namespace {

struct CivetwebLibrary {
  CivetwebLibrary() { mg_init_library(0); }
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

struct HttpFixtureServer::Impl {
  struct Route {
    std::vector<Response> responses;
    std::size_t next = 0;
  };

  mg_context* ctx = nullptr;
  std::uint16_t port = 0;
  mutable std::mutex mutex;
  std::condition_variable stopping_cv;
  bool stopping = false;
  std::map<std::string, Route> routes;
  std::vector<Request> requests;

  static int begin_request(mg_connection* conn) {
    auto* self = static_cast<Impl*>(mg_get_user_data(mg_get_context(conn)));
    return self->handle(conn);
  }

  int handle(mg_connection* conn) {
    const mg_request_info* ri = mg_get_request_info(conn);
    Request request;
    request.method = ri->request_method != nullptr ? ri->request_method : "";
    request.path = ri->local_uri_raw != nullptr ? ri->local_uri_raw : "";
    request.query = ri->query_string != nullptr ? ri->query_string : "";
    for (int i = 0; i < ri->num_headers; ++i) {
      request.headers[lower(ri->http_headers[i].name)] = ri->http_headers[i].value;
    }
    char buf[8192];
    int n = 0;
    while ((n = mg_read(conn, buf, sizeof buf)) > 0) {
      request.body.append(buf, static_cast<std::size_t>(n));
    }

    Response response;
    bool found = false;
    {
      std::lock_guard lock(mutex);
      requests.push_back(request);
      auto it = routes.find(request.path);
      if (it != routes.end() && !it->second.responses.empty()) {
        auto& route = it->second;
        response = route.responses[std::min(route.next, route.responses.size() - 1)];
        if (route.next < route.responses.size()) ++route.next;
        found = true;
      }
    }
    if (!found) {
      response.status = 404;
      response.content_type = "text/plain";
      response.body = "no fixture route for " + request.path + "\n";
    }

    if (response.hang || response.delay.count() > 0) {
      std::unique_lock lock(mutex);
      if (response.hang) {
        stopping_cv.wait(lock, [&] { return stopping; });
      } else {
        stopping_cv.wait_for(lock, response.delay, [&] { return stopping; });
      }
      if (stopping) return 1;  // the server is going away: drop the connection unanswered
    }

    bool chunked = false;
    for (const auto& [name, value] : response.headers) {
      if (lower(name) == "transfer-encoding" && lower(value) == "chunked") chunked = true;
    }
    mg_response_header_start(conn, response.status);
    mg_response_header_add(conn, "Content-Type", response.content_type.c_str(), -1);
    std::string length = std::to_string(response.body.size());
    if (!chunked) mg_response_header_add(conn, "Content-Length", length.c_str(), -1);
    for (const auto& [name, value] : response.headers) {
      mg_response_header_add(conn, name.c_str(), value.c_str(), -1);
    }
    mg_response_header_send(conn);
    if (request.method == "HEAD") return response.status;
    if (chunked) {
      constexpr std::size_t k_chunk = 16 * 1024;
      for (std::size_t at = 0; at < response.body.size(); at += k_chunk) {
        const auto size = std::min(k_chunk, response.body.size() - at);
        if (mg_send_chunk(conn, response.body.data() + at, static_cast<unsigned int>(size)) < 0) {
          return response.status;  // the client went away (it may stop reading a large body)
        }
      }
      mg_send_chunk(conn, "", 0);  // the last chunk
    } else if (!response.body.empty()) {
      mg_write(conn, response.body.data(), response.body.size());
    }
    return response.status;
  }
};

HttpFixtureServer::HttpFixtureServer() : m_impl(std::make_unique<Impl>()) {
  static CivetwebLibrary library;
  mg_callbacks callbacks{};
  callbacks.begin_request = &Impl::begin_request;
  std::string last_error;
  for (int attempt = 0; attempt < 20 && m_impl->ctx == nullptr; ++attempt) {
    std::uint16_t port = free_port();
    std::string listening = "127.0.0.1:" + std::to_string(port);
    const char* options[] = {"listening_ports",
                             listening.c_str(),
                             "num_threads",
                             "64",
                             "enable_keep_alive",
                             "yes",
                             "keep_alive_timeout_ms",
                             "5000",
                             "request_timeout_ms",
                             "60000",
                             nullptr};
    char error_text[256] = {0};
    mg_init_data init{};
    init.callbacks = &callbacks;
    init.user_data = m_impl.get();
    init.configuration_options = options;
    mg_error_data error{};
    error.text = error_text;
    error.text_buffer_size = sizeof error_text;
    m_impl->ctx = mg_start2(&init, &error);
    if (m_impl->ctx != nullptr) {
      m_impl->port = port;
    } else {
      last_error = error_text;
    }
  }
  if (m_impl->ctx == nullptr) {
    throw std::runtime_error("HttpFixtureServer: civetweb did not start: " + last_error);
  }
}

HttpFixtureServer::~HttpFixtureServer() {
  {
    std::lock_guard lock(m_impl->mutex);
    m_impl->stopping = true;
  }
  m_impl->stopping_cv.notify_all();
  // civetweb's master thread notices the stop flag only when its poll() returns, which takes up
  // to 2 s when idle: keep poking the listener until mg_stop() is done.
  std::atomic<bool> stopped{false};
  std::thread poker([&] {
    while (!stopped) {
      port_accepts(m_impl->port);
      std::this_thread::sleep_for(10ms);
    }
  });
  mg_stop(m_impl->ctx);
  stopped = true;
  poker.join();
}

std::uint16_t HttpFixtureServer::port() const {
  return m_impl->port;
}

std::string HttpFixtureServer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(m_impl->port) + path;
}

void HttpFixtureServer::route(const std::string& path, Response response) {
  route_sequence(path, {std::move(response)});
}

void HttpFixtureServer::route_sequence(const std::string& path, std::vector<Response> responses) {
  std::lock_guard lock(m_impl->mutex);
  m_impl->routes[path] = Impl::Route{std::move(responses), 0};
}

std::string HttpFixtureServer::fixture(const std::string& relative_path) {
  return read_file(source_dir() / "tests" / "fixtures" / relative_path);
}

std::vector<HttpFixtureServer::Request> HttpFixtureServer::requests() const {
  std::lock_guard lock(m_impl->mutex);
  return m_impl->requests;
}

std::size_t HttpFixtureServer::request_count(const std::string& path) const {
  std::lock_guard lock(m_impl->mutex);
  return static_cast<std::size_t>(std::count_if(m_impl->requests.begin(), m_impl->requests.end(),
                                                [&](const Request& r) { return r.path == path; }));
}

void HttpFixtureServer::clear_requests() {
  std::lock_guard lock(m_impl->mutex);
  m_impl->requests.clear();
}

}  // namespace streamtrack::testing
