#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "web/db/pg.hpp"
#include "web/live/hub.hpp"

// LISTEN streamtrack_live on a dedicated connection (the collector's triggers NOTIFY it at
// commit, see collector/live/schema.hpp) and publish each announced channel as an
// `event: sample` on the Hub. Reconnects with backoff; notifications sent while disconnected
// are lost (PostgreSQL does not queue them), so after a reconnect clients are told to resync.
namespace streamtrack::web::live {

// One announced channel, decoded from the trigger's compact JSON.
struct Announcement {
  std::int64_t channel_id = 0;
  std::int64_t session_id = 0;
  std::string t;
  std::optional<std::int64_t> viewers;
  std::optional<std::int64_t> chat;
  std::optional<double> chat_per_minute;
  std::optional<double> bitrate_kbps;
  bool live = false;
};

// Decodes one notification payload (a JSON array of objects). Malformed items are skipped;
// returns nullopt when the payload is not a JSON array at all.
std::optional<std::vector<Announcement>> decode_announcements(const std::string& payload);

class Listener {
 public:
  // `committed` is called (on the listener thread) after each notification was published.
  Listener(db::ConnectOptions options, Hub& hub, std::function<void()> committed);
  ~Listener();  // stops and joins
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  bool connected() const { return m_connected.load(); }
  std::uint64_t notifications() const { return m_notifications.load(); }

 private:
  void run();
  void listen_once(db::Connection& conn);
  void publish(db::Connection& conn, const std::string& payload);

  db::ConnectOptions m_options;
  Hub& m_hub;
  std::function<void()> m_committed;
  std::atomic<bool> m_stop{false};
  std::atomic<bool> m_connected{false};
  std::atomic<std::uint64_t> m_notifications{0};
  std::map<std::int64_t, std::pair<std::string, std::string>> m_names;  // id → platform, name
  std::thread m_thread;
};

}  // namespace streamtrack::web::live
