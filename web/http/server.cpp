#include "web/http/server.hpp"

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "common/daemon/log.hpp"
#include "common/status/listen.hpp"
#include "web/api/params.hpp"

namespace streamtrack::web::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

const std::vector<std::pair<std::string, std::string>>& security_headers() {
  static const std::vector<std::pair<std::string, std::string>> headers{
      {"Content-Security-Policy",
       "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"},
      {"X-Content-Type-Options", "nosniff"},
      {"Referrer-Policy", "no-referrer"},
      {"X-Frame-Options", "DENY"},
  };
  return headers;
}

namespace {

std::string error_json(const std::string& code, const std::string& message) {
  return api::ApiError(400, code, "", message).body();
}

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  ServerOptions options;
  Handler handler;
  asio::io_context io;
  asio::thread_pool workers;
  tcp::acceptor acceptor{io};
  asio::steady_timer accept_retry{io};
  std::vector<std::thread> threads;
  std::atomic<std::size_t> connections{0};
  std::atomic<std::size_t> live{0};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> dropped{0};
  std::atomic<bool> stopped{false};
  std::uint16_t port = 0;

  // Every open session, so stop() can close them.
  std::mutex sessions_mutex;
  std::map<std::uint64_t, std::weak_ptr<Session>> sessions;
  std::uint64_t next_session = 1;

  Impl(ServerOptions o, Handler h)
      : options(std::move(o)),
        handler(std::move(h)),
        workers(static_cast<std::size_t>(std::max(1, options.workers))) {}

  void accept();
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<Server::Impl> server, std::uint64_t id)
      : m_stream(std::move(socket)), m_server(std::move(server)), m_id(id) {
    ++m_server->connections;
    beast::error_code ec;
    const auto remote = m_stream.socket().remote_endpoint(ec);
    if (!ec) m_remote = remote.address().to_string() + ":" + std::to_string(remote.port());
  }
  ~Session() {
    --m_server->connections;
    if (m_streaming) --m_server->live;
  }

  void start() {
    asio::dispatch(m_stream.get_executor(), [self = shared_from_this()] { self->read(); });
  }

  // From any thread: queue a frame (SSE).
  void post_frame(std::shared_ptr<const std::string> frame) {
    asio::post(m_stream.get_executor(),
               [self = shared_from_this(), frame = std::move(frame)]() mutable {
                 self->enqueue(std::move(frame));
               });
  }

  void close_from_any_thread() {
    asio::post(m_stream.get_executor(), [self = shared_from_this()] { self->close(); });
  }

 private:
  class Sink final : public EventSink {
   public:
    explicit Sink(std::weak_ptr<Session> session) : m_session(std::move(session)) {}
    void send(std::shared_ptr<const std::string> frame) override {
      if (auto s = m_session.lock()) s->post_frame(std::move(frame));
    }

   private:
    std::weak_ptr<Session> m_session;
  };

  void read() {
    if (m_closed) return;
    m_parser.emplace();
    m_parser->header_limit(std::uint32_t{16} * 1024);
    m_parser->body_limit(std::uint64_t{16} * 1024);
    m_stream.expires_after(m_server->options.idle_timeout);
    bhttp::async_read(
        m_stream, m_buffer, *m_parser,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == beast::error::timeout || ec == asio::error::eof ||
        ec == asio::error::connection_reset) {
      close();
      return;
    }
    if (ec) {
      if (ec == bhttp::error::header_limit) {
        write_simple(431, error_json("bad_request", "request headers larger than 16 KiB"));
      } else if (ec == bhttp::error::body_limit) {
        write_simple(413, error_json("bad_request", "request body larger than 16 KiB"));
      } else {
        write_simple(400, error_json("bad_request", "malformed request: " + ec.message()));
      }
      return;
    }
    ++m_server->requests;
    auto& msg = m_parser->get();
    Request request;
    request.method = std::string(msg.method_string());
    request.remote = m_remote;
    const std::string target(msg.target());
    if (target.empty() || target[0] != '/') {
      write_simple(400, error_json("bad_request", "the request target must start with /"));
      return;
    }
    const auto q = target.find('?');
    const auto path = api::percent_decode(std::string_view(target).substr(0, q), false);
    if (!path) {
      write_simple(400, error_json("bad_request", "the path is not valid percent-encoded UTF-8"));
      return;
    }
    request.path = *path;
    if (q != std::string::npos) request.raw_query = target.substr(q + 1);
    for (const auto& field : msg) {
      std::string name(field.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto [it, inserted] = request.headers.emplace(name, std::string(field.value()));
      if (!inserted) it->second += ", " + std::string(field.value());
    }
    m_keep_alive = msg.keep_alive();
    m_version = msg.version();
    m_head = msg.method() == bhttp::verb::head;
    m_stream.expires_never();  // the handler may take a while; the statement timeout bounds it
    if (m_server->options.answer_inline && m_server->options.answer_inline(request)) {
      respond(run_handler(request));
      return;
    }
    asio::post(m_server->workers, [self = shared_from_this(), request = std::move(request)] {
      Response response = self->run_handler(request);
      asio::post(self->m_stream.get_executor(), [self, response = std::move(response)]() mutable {
        self->respond(std::move(response));
      });
    });
  }

  Response run_handler(const Request& request) {
    try {
      return m_server->handler(request);
    } catch (const std::exception& e) {
      log::error("http: handler threw error=" + log::quote(e.what()));
      Response response;
      response.status = 500;
      response.body = error_json("internal", "internal error");
      return response;
    }
  }

  void respond(Response response) {
    if (m_closed) return;
    if (response.open_stream && response.status == 200) {
      start_stream(response);
      return;
    }
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
    res->version(m_version);
    res->result(static_cast<unsigned>(response.status));
    res->keep_alive(m_keep_alive);
    for (const auto& [k, v] : security_headers()) res->set(k, v);
    if (response.status != 304 || !response.body.empty()) {
      res->set(bhttp::field::content_type, response.content_type);
    }
    for (const auto& [k, v] : response.headers) res->set(k, v);
    const auto size = response.body.size();
    if (!m_head) res->body() = std::move(response.body);
    if (response.status == 304) {
      res->body().clear();
    } else {
      res->content_length(size);
    }
    // A client that never takes its reply must not hold the connection and the reply forever.
    m_stream.expires_after(m_server->options.idle_timeout);
    bhttp::async_write(m_stream, *res,
                       [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
                         if (ec || !res->keep_alive()) {
                           self->close();
                         } else {
                           self->read();
                         }
                       });
  }

  void start_stream(const Response& response) {
    std::string head = "HTTP/1.1 200 OK\r\nContent-Type: " + response.content_type + "\r\n";
    for (const auto& [k, v] : security_headers())
      head.append(k).append(": ").append(v).append("\r\n");
    for (const auto& [k, v] : response.headers)
      head.append(k).append(": ").append(v).append("\r\n");
    head += "Connection: close\r\n\r\n";
    m_streaming = true;
    ++m_server->live;
    m_parser.reset();
    m_buffer = beast::flat_buffer();
    enqueue(std::make_shared<const std::string>(std::move(head)));
    m_unsubscribe = response.open_stream(std::make_shared<Sink>(weak_from_this()));
    // The client sends nothing more; a read that ends tells us it went away.
    watch_for_close();
  }

  void watch_for_close() {
    m_stream.socket().async_read_some(
        asio::buffer(m_discard), [self = shared_from_this()](beast::error_code ec, std::size_t) {
          if (ec) {
            self->close();
          } else {
            self->watch_for_close();
          }
        });
  }

  void enqueue(std::shared_ptr<const std::string> frame) {
    if (m_closed) return;
    m_queued_bytes += frame->size();
    m_queue.push_back(std::move(frame));
    if (m_queued_bytes > m_server->options.client_buffer_bytes) {
      ++m_server->dropped;
      log::info("live: disconnecting a slow client remote=" + m_remote +
                " queued_bytes=" + std::to_string(m_queued_bytes));
      close();
      return;
    }
    if (!m_writing) write_next();
  }

  void write_next() {
    if (m_queue.empty() || m_closed) {
      m_writing = false;
      return;
    }
    m_writing = true;
    auto frame = m_queue.front();
    asio::async_write(m_stream.socket(), asio::buffer(*frame),
                      [self = shared_from_this(), frame](beast::error_code ec, std::size_t) {
                        self->m_queued_bytes -= frame->size();
                        self->m_queue.pop_front();
                        if (ec) {
                          self->close();
                          return;
                        }
                        self->write_next();
                      });
  }

  void write_simple(int status, const std::string& body) {
    m_keep_alive = false;
    Response r;
    r.status = status;
    r.body = body;
    r.headers.emplace_back("Cache-Control", "no-store");
    respond(std::move(r));
  }

  void close() {
    if (m_closed) return;
    m_closed = true;
    if (m_unsubscribe) {
      auto unsubscribe = std::move(m_unsubscribe);
      m_unsubscribe = nullptr;
      unsubscribe();
    }
    beast::error_code ec;
    m_stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    m_stream.socket().close(ec);
    std::lock_guard lock(m_server->sessions_mutex);
    m_server->sessions.erase(m_id);
  }

  beast::tcp_stream m_stream;
  std::shared_ptr<Server::Impl> m_server;
  std::uint64_t m_id;
  std::string m_remote;
  beast::flat_buffer m_buffer;
  std::optional<bhttp::request_parser<bhttp::string_body>> m_parser;
  bool m_keep_alive = false;
  bool m_head = false;
  unsigned m_version = 11;
  bool m_closed = false;

  bool m_streaming = false;
  bool m_writing = false;
  std::deque<std::shared_ptr<const std::string>> m_queue;
  std::size_t m_queued_bytes = 0;
  std::function<void()> m_unsubscribe;
  std::array<char, 512> m_discard{};
};

void Server::Impl::accept() {
  acceptor.async_accept(asio::make_strand(io),
                        [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
                          if (self->stopped) return;
                          if (!ec) {
                            if (self->connections.load() >= self->options.max_connections) {
                              beast::error_code ignored;
                              socket.close(ignored);
                            } else {
                              std::uint64_t id = 0;
                              std::shared_ptr<Session> session;
                              {
                                std::lock_guard lock(self->sessions_mutex);
                                id = self->next_session++;
                                session = std::make_shared<Session>(std::move(socket), self, id);
                                self->sessions.emplace(id, session);
                              }
                              session->start();
                            }
                          } else if (ec == asio::error::operation_aborted) {
                            return;
                          } else {
                            // Out of descriptors or memory: the pending connection stays in
                            // the backlog, so accepting again at once would spin. Pause.
                            log::warning("http: accept failed error=" + log::quote(ec.message()) +
                                         "; retrying in 100 ms");
                            self->accept_retry.expires_after(std::chrono::milliseconds(100));
                            self->accept_retry.async_wait([self](beast::error_code wait_ec) {
                              if (!wait_ec && !self->stopped) self->accept();
                            });
                            return;
                          }
                          self->accept();
                        });
}

Server::Server(ServerOptions options, Handler handler)
    : m_impl(std::make_shared<Impl>(std::move(options), std::move(handler))) {
  const auto address = streamtrack::status::parse_listen(m_impl->options.listen);
  if (!address) throw std::runtime_error("[web] listen: " + address.error());
  beast::error_code ec;
  const tcp::endpoint endpoint(asio::ip::make_address(address->host, ec), address->port);
  if (ec) throw std::runtime_error("[web] listen: " + ec.message());
  auto& acceptor = m_impl->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::runtime_error("[web] listen: cannot serve on " +
                             streamtrack::status::to_string(*address) + ": " + ec.message());
  }
  m_impl->port = acceptor.local_endpoint().port();
  if (!address->loopback) {
    log::warning("http: listen=" + m_impl->options.listen +
                 " is not a loopback address; the dashboard is reachable from the network");
  }
  m_impl->accept();
  for (int i = 0; i < std::max(1, m_impl->options.io_threads); ++i) {
    m_impl->threads.emplace_back([impl = m_impl.get()] { impl->io.run(); });
  }
}

Server::~Server() {
  // stop() throws only when a thread cannot be joined (std::system_error). A destructor must not
  // throw: that is reported and the teardown goes on.
  try {
    stop();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "http: stopping the server failed: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "http: stopping the server failed\n");
  }
}

std::uint16_t Server::port() const {
  return m_impl->port;
}

void Server::stop() {
  if (m_impl->stopped.exchange(true)) return;
  asio::post(m_impl->io, [impl = m_impl] {
    beast::error_code ec;
    impl->acceptor.close(ec);
    impl->accept_retry.cancel();
  });
  std::vector<std::shared_ptr<Session>> open;
  {
    std::lock_guard lock(m_impl->sessions_mutex);
    for (auto& [id, weak] : m_impl->sessions) {
      if (auto s = weak.lock()) open.push_back(std::move(s));
    }
  }
  for (auto& s : open) s->close_from_any_thread();
  open.clear();
  // Queued requests are dropped (their connections are closed); those running finish within
  // the statement timeout, so SIGTERM stays within the unit's stop timeout.
  m_impl->workers.stop();
  m_impl->workers.join();
  m_impl->io.stop();
  for (auto& t : m_impl->threads) {
    if (t.joinable()) t.join();
  }
  // io.stop() may win against the close posted above: then that handler and the pending
  // accept, both holding the Impl, would stay queued in the Impl's own io_context, a cycle
  // that is never freed (LeakSanitizer saw it). Run what is ready now, on this thread: the
  // acceptor closes, the aborted accept and session operations complete and let go of it.
  m_impl->io.restart();
  m_impl->io.poll();
}

std::size_t Server::connections() const {
  return m_impl->connections.load();
}
std::size_t Server::live_connections() const {
  return m_impl->live.load();
}
std::uint64_t Server::requests() const {
  return m_impl->requests.load();
}
std::uint64_t Server::dropped_slow_clients() const {
  return m_impl->dropped.load();
}

}  // namespace streamtrack::web::http
