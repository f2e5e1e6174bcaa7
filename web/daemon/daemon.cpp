#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

#include "common/daemon/log.hpp"
#include "common/daemon/notify.hpp"
#include "common/daemon/signals.hpp"
#include "web/api/api.hpp"
#include "web/app.hpp"
#include "web/daemon/router.hpp"
#include "web/daemon/web_metrics.hpp"
#include "web/db/pg.hpp"
#include "web/http/auth.hpp"
#include "web/http/server.hpp"
#include "web/live/hub.hpp"
#include "web/live/listener.hpp"

namespace streamtrack::web {

namespace {

using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

db::ConnectOptions connect_options(const WebConfig& c) {
  db::ConnectOptions o;
  o.dsn = c.postgres_dsn;
  o.password = c.postgres_password;
  o.connect_timeout = c.connect_timeout;
  o.statement_timeout = c.statement_timeout;
  return o;
}

bool database_reachable(db::Pool& pool) {
  try {
    auto conn = pool.acquire();
    conn->query("SELECT 1 FROM channel_current LIMIT 1");
    return true;
  } catch (const std::exception& e) {
    log::debug("web: database check failed error=" + log::quote(e.what()));
    return false;
  }
}

// SIGHUP: re-reads web.toml and applies what can change without a restart (log level and
// format, authentication: a rotated token or password file). Everything else needs a
// restart; a config that no longer validates is logged and the running one kept.
void reload(const WebConfig& running, Router& router, bool ready) {
  notify::reloading();
  try {
    const auto fresh = load_web_config(running.path);
    log::set_level(fresh.log_level);
    log::set_format(fresh.log_format);
    router.set_auth(
        std::make_shared<const http::Auth>(fresh.auth, fresh.auth_token, fresh.htpasswd));
    if (fresh.listen != running.listen || fresh.postgres_dsn != running.postgres_dsn ||
        fresh.ui_dir != running.ui_dir || fresh.pool_max != running.pool_max) {
      log::notice("web: reloaded log_level, log_format and [auth]; other changes need a restart");
    } else {
      log::info("web: reloaded log_level, log_format and [auth]");
    }
  } catch (const config::ConfigError& e) {
    for (const auto& m : e.messages()) log::error("web: reload refused: " + m);
  } catch (const std::exception& e) {
    log::error("web: reload refused: " + std::string(e.what()));
  }
  if (ready) notify::ready();  // before the first READY=1, the main loop still sends it
}

// Every live client is a descriptor: use the whole hard limit (systemd's default soft limit
// is 1024, its hard limit far higher).
void raise_descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &limit) == 0) {
    log::info("web: open file limit raised to " + std::to_string(limit.rlim_cur));
  }
}

}  // namespace

int run_daemon(const WebConfig& config) {
  log::set_level(config.log_level);
  log::set_format(config.log_format);
  raise_descriptor_limit();
  SignalWatcher signals;
  log::info("web: starting listen=" + config.listen + " ui_dir=" + config.ui_dir);

  WebMetrics metrics;
  db::Pool pool({connect_options(config), static_cast<std::size_t>(config.pool_max),
                 config.pool_idle, config.acquire_timeout});
  const auto first_id =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  // A replay may fill half of a client's send buffer; beyond that the client reloads.
  live::Hub hub(static_cast<std::size_t>(config.ring_size), first_id,
                static_cast<std::size_t>(config.client_buffer_bytes / 2));
  api::ApiOptions api_options;
  api_options.max_page = config.max_page;
  api_options.raw_max_span = config.raw_max_span;
  api_options.max_points = config.max_points;
  api_options.stats_window = config.stats_window;
  api_options.max_live_clients = static_cast<std::size_t>(config.max_live_clients);
  api::Api api(pool, hub, api_options);
  Router router(api,
                std::make_shared<const http::Auth>(config.auth, config.auth_token, config.htpasswd),
                http::StaticFiles(config.ui_dir), http::StaticFiles(config.chartjs_dir), metrics);

  std::atomic<bool> database_up{false};
  std::atomic<bool> committed{false};
  live::Listener listener(connect_options(config), hub, [&committed] { committed = true; });
  router.add_check("database", [&database_up] {
    return streamtrack::status::CheckResult{database_up.load(),
                                            database_up ? "reachable" : "unreachable"};
  });
  router.add_check("live_feed", [&listener] {
    return streamtrack::status::CheckResult{listener.connected(),
                                            listener.connected() ? "listening" : "not listening"};
  });

  http::ServerOptions server_options;
  server_options.listen = config.listen;
  server_options.io_threads = config.io_threads;
  server_options.workers = config.workers;
  server_options.max_connections = static_cast<std::size_t>(config.max_connections);
  server_options.idle_timeout = config.idle_timeout;
  server_options.client_buffer_bytes = static_cast<std::size_t>(config.client_buffer_bytes);
  // Files, /healthz, /readyz and /metrics never query PostgreSQL: the event loop answers them,
  // so the dashboard loads and monitoring works while every worker waits on the database.
  server_options.answer_inline = [&router](const Request& r) { return router.answers_quickly(r); };
  http::Server server(server_options, [&router](const Request& r) { return router.handle(r); });
  metrics.set_gauge_source([&] {
    const auto counts = pool.counts();
    WebMetrics::Gauges g;
    g.live_clients = static_cast<std::int64_t>(server.live_connections());
    g.connections = static_cast<std::int64_t>(server.connections());
    g.pool_idle = static_cast<std::int64_t>(counts.idle);
    g.pool_busy = static_cast<std::int64_t>(counts.busy);
    g.stats_computations = static_cast<std::int64_t>(api.stats_computations());
    g.slow_clients_dropped = static_cast<std::int64_t>(server.dropped_slow_clients());
    g.listener_connected = listener.connected();
    g.database_up = database_up.load();
    return g;
  });
  // The listen address without its port ("[::1]:0" gives "[::1]"), then the port bound.
  log::info("web: serving url=http://" + config.listen.substr(0, config.listen.rfind(':')) + ":" +
            std::to_string(server.port()) + "/ port=" + std::to_string(server.port()));

  notify::status("connecting to PostgreSQL");
  notify::Notifier notifier;  // the watchdog's pings and what systemd's queue had no room for
  bool ready = false;
  auto next_db_check = Steady::now();
  auto next_keepalive = Steady::now() + config.keepalive;
  auto next_stats = Steady::now();
  std::string last_figures;
  std::optional<Steady::time_point> commit_seen;  // a commit not yet in a stats event
  std::uint64_t last_event_id = hub.last_id();
  while (true) {
    if (const auto ev = signals.wait(100); ev == SignalEvent::stop) {
      break;
    } else if (ev == SignalEvent::reload) {
      reload(config, router, ready);
    }
    notifier.turn();
    const auto now = Steady::now();
    if (now >= next_db_check) {
      const bool up = database_reachable(pool);
      if (up != database_up.exchange(up)) {
        log::info(std::string("web: database ") + (up ? "reachable" : "unreachable"));
      }
      pool.reap();
      next_db_check = now + (up ? milliseconds{5000} : milliseconds{1000});
      if (up && !ready) {
        ready = true;
        notify::ready();
        notify::status("serving");
        log::info("web: ready");
      }
    }
    if (now >= next_keepalive) {
      hub.keepalive();
      next_keepalive = now + config.keepalive;
    }
    if (const auto id = hub.last_id(); id != last_event_id) {
      metrics.count_live_events(static_cast<std::int64_t>(id - last_event_id));
      last_event_id = id;
    }
    // A stats event must reflect the commit that triggered it: a snapshot cached (by a
    // GET) before the commit is not good enough, so wait for one computed after it (at most
    // one window away).
    if (committed.exchange(false) && !commit_seen) commit_seen = Steady::now();
    if (commit_seen && now >= next_stats) {
      try {
        const auto snapshot = api.stats();
        if (snapshot->computed_at >= *commit_seen) {
          commit_seen.reset();
          next_stats = now + config.stats_window;
          if (snapshot->figures != last_figures) {
            last_figures = snapshot->figures;
            hub.publish("stats", 0, snapshot->body);
          }
        }
      } catch (const std::exception& e) {
        next_stats = now + config.stats_window;  // try again next window
        log::debug("web: stats for live clients failed error=" + log::quote(e.what()));
      }
    }
  }
  notify::stopping();
  log::info("web: stopping");
  server.stop();
  return 0;
}

}  // namespace streamtrack::web
