#include "web/live/listener.hpp"

#include <poll.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "common/daemon/log.hpp"
#include "common/util/backoff.hpp"

namespace streamtrack::web::live {

using nlohmann::json;

namespace {

template <typename T>
std::optional<T> optional_number(const json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_number()) return std::nullopt;
  return j[key].get<T>();
}

}  // namespace

std::optional<std::vector<Announcement>> decode_announcements(const std::string& payload) {
  const auto j = json::parse(payload, nullptr, false);
  if (!j.is_array()) return std::nullopt;
  std::vector<Announcement> out;
  for (const auto& item : j) {
    if (!item.is_object() || !item.contains("c") || !item["c"].is_number_integer() ||
        !item.contains("t") || !item["t"].is_string()) {
      continue;
    }
    Announcement a;
    a.channel_id = item["c"].get<std::int64_t>();
    a.session_id = optional_number<std::int64_t>(item, "s").value_or(0);
    a.t = item["t"].get<std::string>();
    a.viewers = optional_number<std::int64_t>(item, "v");
    a.chat = optional_number<std::int64_t>(item, "m");
    a.chat_per_minute = optional_number<double>(item, "r");
    a.bitrate_kbps = optional_number<double>(item, "b");
    a.live = item.contains("a") && item["a"].is_boolean() && item["a"].get<bool>();
    out.push_back(std::move(a));
  }
  return out;
}

Listener::Listener(db::ConnectOptions options, Hub& hub, std::function<void()> committed)
    : m_options(std::move(options)), m_hub(hub), m_committed(std::move(committed)) {
  m_options.application_name = "streamtrack-web listen";
  m_thread = std::thread([this] { run(); });
}

Listener::~Listener() {
  m_stop = true;
  if (m_thread.joinable()) m_thread.join();
}

void Listener::run() {
  Backoff backoff(std::chrono::milliseconds{250}, std::chrono::milliseconds{10'000});
  bool ever_connected = false;
  while (!m_stop) {
    try {
      db::Connection conn(m_options);
      conn.query("LISTEN streamtrack_live");
      m_connected = true;
      backoff.reset();
      log::info("live: listening for committed updates");
      if (ever_connected) {
        // Whatever committed while we were away was never announced to us.
        m_hub.publish("resync", -1, R"({"reason":"the live feed was interrupted"})");
      }
      ever_connected = true;
      listen_once(conn);
    } catch (const db::PgError& e) {
      log::warning("live: database connection failed error=" + log::quote(e.what()));
    }
    m_connected = false;
    const auto until = std::chrono::steady_clock::now() + backoff.next_delay();
    while (!m_stop && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
}

void Listener::listen_once(db::Connection& conn) {
  PGconn* raw = conn.raw();
  while (!m_stop) {
    pollfd p{PQsocket(raw), POLLIN, 0};
    if (p.fd < 0) throw db::PgError("", "no socket");
    const int ready = ::poll(&p, 1, 200);
    if (ready < 0 && errno != EINTR) throw db::PgError("", "poll failed");
    if (ready <= 0) continue;
    if (PQconsumeInput(raw) == 0) throw db::PgError("", PQerrorMessage(raw));
    while (PGnotify* n = PQnotifies(raw)) {
      std::string payload = n->extra ? n->extra : "";
      PQfreemem(n);
      ++m_notifications;
      publish(conn, payload);
    }
    if (PQstatus(raw) != CONNECTION_OK) throw db::PgError("", "connection lost");
  }
}

void Listener::publish(db::Connection& conn, const std::string& payload) {
  const auto items = decode_announcements(payload);
  if (!items) {
    log::warning("live: ignored a notification that is not a JSON array bytes=" +
                 std::to_string(payload.size()));
    return;
  }
  std::string missing;
  for (const auto& a : *items) {
    if (!m_names.contains(a.channel_id)) {
      missing += (missing.empty() ? "" : ",") + std::to_string(a.channel_id);
    }
  }
  if (!missing.empty()) {
    const auto r =
        conn.query("SELECT id, platform, name FROM channels WHERE id = ANY($1::bigint[])",
                   {"{" + missing + "}"});
    for (int i = 0; i < r.rows(); ++i) {
      m_names[r.integer(i, 0)] = {r.text(i, 1), r.text(i, 2)};
    }
  }
  for (const auto& a : *items) {
    const auto it = m_names.find(a.channel_id);
    if (it == m_names.end()) continue;
    json data{{"channel_id", a.channel_id},
              {"platform", it->second.first},
              {"name", it->second.second},
              {"t", a.t},
              {"viewers", a.viewers ? json(*a.viewers) : json(nullptr)},
              {"chat", a.chat ? json(*a.chat) : json(nullptr)},
              {"chat_per_minute", a.chat_per_minute ? json(*a.chat_per_minute) : json(nullptr)},
              {"bitrate_kbps", a.bitrate_kbps ? json(*a.bitrate_kbps) : json(nullptr)},
              {"live", a.live},
              {"session_id", a.session_id > 0 ? json(a.session_id) : json(nullptr)}};
    m_hub.publish("sample", a.channel_id,
                  data.dump(-1, ' ', false, json::error_handler_t::replace));
  }
  if (m_committed) m_committed();
}

}  // namespace streamtrack::web::live
