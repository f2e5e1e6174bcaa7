#include "web/config/web_config.hpp"

#include "common/config/config_file.hpp"
#include "common/config/example.hpp"
#include "common/config/log_settings.hpp"
#include "common/config/toml_file.hpp"
#include "common/status/listen.hpp"

namespace streamtrack::web {

using config::TableSpec;
using config::ValueType;

namespace {

const TableSpec& web_table_spec() {
  static const TableSpec own{{
      {.name = "listen",
       .default_value = std::string("127.0.0.1:8090"),
       .description = "Address of the dashboard, the API and /metrics /healthz /readyz. "
                      "Loopback by default; to expose it, put it behind a TLS proxy and turn "
                      "on [auth].",
       .example_active = true},
      {.name = "ui_dir",
       .default_value = std::string("/usr/share/streamtrack/web"),
       .description = "Directory of the dashboard's static files (index.html, sw.js, ...)."},
      {.name = "chartjs_dir",
       .default_value = std::string("/usr/share/javascript/chart.js"),
       .description = "Debian's libjs-chart.js directory, served under /vendor/chart.js/."},
      {.name = "io_threads",
       .type = ValueType::integer,
       .default_value = std::int64_t{2},
       .description = "Threads running the HTTP event loop (epoll); every connection, live "
                      "ones included, is served by these.",
       .min = 1,
       .max = 64},
      {.name = "workers",
       .type = ValueType::integer,
       .default_value = std::int64_t{8},
       .description = "Threads answering API requests (each holds one pool connection while "
                      "it queries).",
       .min = 1,
       .max = 256},
      {.name = "max_connections",
       .type = ValueType::integer,
       .default_value = std::int64_t{4096},
       .description = "Open HTTP connections beyond this are closed at once.",
       .min = 1,
       .max = 1'000'000},
      {.name = "idle_timeout",
       .type = ValueType::duration,
       .default_value = std::string("30s"),
       .description = "Close a connection that sends no request, or does not take its reply, "
                      "for this long (live streams excepted: client_buffer bounds those).",
       .min = 100},
  }};
  static const TableSpec spec = config::with_log_keys(own, "");
  return spec;
}

const TableSpec& postgres_spec() {
  static const TableSpec spec{{
      {.name = "dsn",
       .required = true,
       .description = "libpq connection string of a role that can only read (docs/api.md, "
                      "\"Database role\").",
       .example = "\"host=127.0.0.1 port=5432 dbname=streamtrack user=streamtrack_web\""},
      {.name = "password_file",
       .description = "File holding the database password (or credential \"postgres-password\").",
       .example = "\"/etc/streamtrack/web-postgres.password\""},
      {.name = "pool_max",
       .type = ValueType::integer,
       .default_value = std::int64_t{20},
       .description = "Most connections open at once.",
       .min = 1,
       .max = 1000},
      {.name = "pool_idle",
       .type = ValueType::duration,
       .default_value = std::string("30s"),
       .description = "Close a connection unused for this long.",
       .min = 1000},
      {.name = "connect_timeout",
       .type = ValueType::duration,
       .default_value = std::string("2s"),
       .description = "Give up a connection attempt after this long (libpq rounds to seconds, "
                      "at least 2 s).",
       .min = 1000},
      {.name = "statement_timeout",
       .type = ValueType::duration,
       .default_value = std::string("5s"),
       .description = "Every query is cancelled by the server after this long.",
       .min = 10,
       .max = 600'000},
      {.name = "acquire_timeout",
       .type = ValueType::duration,
       .default_value = std::string("2s"),
       .description = "A request waits this long for a free connection, then gets 503.",
       .min = 1},
  }};
  return spec;
}

const TableSpec& api_spec() {
  static const TableSpec spec{{
      {.name = "stats_window",
       .type = ValueType::duration,
       .default_value = std::string("5s"),
       .description = "GET /api/v1/stats is computed at most once per window (also its "
                      "Cache-Control max-age).",
       .min = 100,
       .max = 3'600'000},
      {.name = "max_page",
       .type = ValueType::integer,
       .default_value = std::int64_t{500},
       .description = "Largest accepted `limit` of a list.",
       .min = 1,
       .max = 10'000},
      {.name = "raw_max_span",
       .type = ValueType::duration,
       .default_value = std::string("48h"),
       .description = "Series windows up to this long are answered from raw samples, longer "
                      "ones from stream_analytics_hourly.",
       .min = 60'000},
      {.name = "max_points",
       .type = ValueType::integer,
       .default_value = std::int64_t{2000},
       .description = "Most points in one series reply (the step grows to fit).",
       .min = 10,
       .max = 10'000},
  }};
  return spec;
}

const TableSpec& live_spec() {
  static const TableSpec spec{{
      {.name = "ring_size",
       .type = ValueType::integer,
       .default_value = std::int64_t{10000},
       .description = "Events kept for clients that reconnect with Last-Event-ID.",
       .min = 1,
       .max = 10'000'000},
      {.name = "keepalive",
       .type = ValueType::duration,
       .default_value = std::string("15s"),
       .description = "A `: keepalive` comment line goes to every live client this often.",
       .min = 100},
      {.name = "max_clients",
       .type = ValueType::integer,
       .default_value = std::int64_t{10000},
       .description = "Live (SSE) clients beyond this get 503.",
       .min = 1,
       .max = 1'000'000},
      {.name = "client_buffer",
       .type = ValueType::integer,
       .default_value = std::int64_t{16 << 20},
       .description = "Bytes queued for a slow live client before it is disconnected (it "
                      "resumes with Last-Event-ID).",
       .min = 4096,
       .max = 1 << 30},
  }};
  return spec;
}

const TableSpec& auth_spec() {
  static const TableSpec spec{{
      {.name = "mode",
       .default_value = std::string("none"),
       .description = "\"none\", \"token\" (Authorization: Bearer) or \"basic\" (HTTP basic "
                      "against a file of crypt(3) hashes).",
       .one_of = {"none", "token", "basic"},
       .reloads = true},
      {.name = "token_file",
       .description = "mode token: file holding the token (or credential \"web-token\").",
       .reloads = true,
       .example = "\"/etc/streamtrack/web.token\""},
      {.name = "htpasswd_file",
       .description = "mode basic: lines \"user:<crypt(3) hash>\" (mkpasswd -m yescrypt, "
                      "openssl passwd -6); or credential \"web-htpasswd\".",
       .reloads = true,
       .example = "\"/etc/streamtrack/web.htpasswd\""},
  }};
  return spec;
}

void read_web_config(WebConfig& c, const config::Section& root, config::Diagnostics& diag) {
  const auto web = root.table("web");
  config::read_log_settings(web, c.log_level, c.log_format);
  c.listen = web.string("listen");
  if (const auto address = status::parse_listen(c.listen); !address) {
    diag.error(web.position("listen"), "web", "listen", address.error());
  }
  c.ui_dir = web.string("ui_dir");
  c.chartjs_dir = web.string("chartjs_dir");
  c.io_threads = static_cast<int>(web.integer("io_threads"));
  c.workers = static_cast<int>(web.integer("workers"));
  c.max_connections = web.integer("max_connections");
  c.idle_timeout = web.duration("idle_timeout");

  const auto pg = root.table("postgres");
  c.postgres_dsn = pg.string("dsn");
  c.postgres_password = config::read_secret(pg, "password_file", "postgres-password", diag);
  c.pool_max = pg.integer("pool_max");
  c.pool_idle = pg.duration("pool_idle");
  c.connect_timeout = pg.duration("connect_timeout");
  c.statement_timeout = pg.duration("statement_timeout");
  c.acquire_timeout = pg.duration("acquire_timeout");

  const auto api = root.table("api");
  c.stats_window = api.duration("stats_window");
  c.max_page = api.integer("max_page");
  c.raw_max_span = api.duration("raw_max_span");
  c.max_points = api.integer("max_points");

  const auto live = root.table("live");
  c.ring_size = live.integer("ring_size");
  c.keepalive = live.duration("keepalive");
  c.max_live_clients = live.integer("max_clients");
  c.client_buffer_bytes = live.integer("client_buffer");

  const auto auth = root.table("auth");
  const auto mode = auth.string("mode");
  if (mode == "token") {
    c.auth = AuthMode::token;
    c.auth_token = config::read_secret(auth, "token_file", "web-token", diag);
    if (!c.auth_token && diag.empty()) {
      diag.error(auth.position("mode"), "auth", "token_file",
                 "mode \"token\" needs token_file (or the credential \"web-token\")");
    } else if (c.auth_token && c.auth_token->size() < 16) {
      diag.error(auth.position("token_file"), "auth", "token_file",
                 "the token must be at least 16 characters long");
    }
  } else if (mode == "basic") {
    c.auth = AuthMode::basic;
    const auto text = config::read_secret(auth, "htpasswd_file", "web-htpasswd", diag);
    if (!text && diag.empty()) {
      diag.error(auth.position("mode"), "auth", "htpasswd_file",
                 "mode \"basic\" needs htpasswd_file (or the credential \"web-htpasswd\")");
    }
    c.htpasswd = text.value_or("");
  } else if (auth.has("token_file") || auth.has("htpasswd_file")) {
    diag.error(auth.position("mode"), "auth", "mode",
               "a token_file or htpasswd_file is set but mode is \"none\"; set mode");
  }
}

}  // namespace

const TableSpec& web_root_spec() {
  static const TableSpec spec{{
      {.name = "web",
       .type = ValueType::table,
       .description = "The HTTP server: dashboard, API, live updates, /metrics /healthz /readyz.",
       .nested = &web_table_spec()},
      {.name = "postgres",
       .type = ValueType::table,
       .required = true,
       .description = "The database, read through a pool of read-only sessions.",
       .nested = &postgres_spec()},
      {.name = "api",
       .type = ValueType::table,
       .description = "The JSON API (docs/api.md).",
       .nested = &api_spec()},
      {.name = "live",
       .type = ValueType::table,
       .description = "Live updates (Server-Sent Events on /api/v1/live).",
       .nested = &live_spec()},
      {.name = "auth",
       .type = ValueType::table,
       .description = "Who may read. Loopback-only servers can leave it off.",
       .nested = &auth_spec()},
  }};
  return spec;
}

WebConfig parse_web_config(std::string_view text, const std::string& name) {
  return config::parse_config<WebConfig>(text, name, web_root_spec(), &read_web_config);
}

WebConfig load_web_config(const std::string& path) {
  return config::load_config<WebConfig>(path, "web.d", web_root_spec(), &read_web_config);
}

std::string web_config_example() {
  return config::render_example(
      web_root_spec(),
      "streamtrack-web configuration: the dashboard, the JSON API (docs/api.md) and live "
      "updates. The output of `streamtrack-web config example`, generated from the key "
      "declarations.\n"
      "Check it with: streamtrack-web --config /etc/streamtrack/web.toml --check-config\n"
      "Durations are strings: \"500ms\", \"10s\", \"5m\", \"1h\", \"1d\", at most \"3650d\". Every "
      "*_file key names a file "
      "(a relative name is looked up in $CREDENTIALS_DIRECTORY, which systemd's "
      "LoadCredential= fills).\n"
      "Drop-ins: after this file, every *.toml file in the directory web.d next to it is read "
      "in byte order of the file names. Tables merge key by key; a key set again replaces the "
      "earlier value (the later file wins).\n"
      "SIGHUP (systemctl reload) applies what each key says; a configuration that fails "
      "validation is refused and the running one kept. On SIGTERM, requests in progress "
      "finish within [postgres] statement_timeout.");
}

}  // namespace streamtrack::web
