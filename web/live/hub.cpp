#include "web/live/hub.hpp"

#include <algorithm>
#include <vector>

namespace streamtrack::web::live {

Hub::Hub(std::size_t ring_size, std::uint64_t first_id, std::size_t max_replay_bytes)
    : m_ring_size(std::max<std::size_t>(1, ring_size)),
      m_max_replay_bytes(max_replay_bytes),
      m_next_id(first_id) {}

std::string Hub::frame(std::uint64_t id, const std::string& event, const std::string& data_json) {
  // data_json is one line (compact JSON), so one data: field carries it.
  return "id: " + std::to_string(id) + "\nevent: " + event + "\ndata: " + data_json + "\n\n";
}

std::uint64_t Hub::publish(const std::string& event, std::int64_t channel_id,
                           const std::string& data_json) {
  std::lock_guard lock(m_mutex);
  const auto id = m_next_id++;
  Event e{id, channel_id, std::make_shared<const std::string>(frame(id, event, data_json))};
  m_ring.push_back(e);
  while (m_ring.size() > m_ring_size) m_ring.pop_front();
  for (auto& [sid, s] : m_subscribers) {
    if (wants(s, e)) s.sink->send(e.frame);
  }
  return id;
}

std::uint64_t Hub::subscribe(std::shared_ptr<EventSink> sink,
                             std::optional<std::int64_t> channel_id,
                             std::optional<std::uint64_t> last_event_id) {
  std::lock_guard lock(m_mutex);
  Subscriber s{std::move(sink), channel_id};
  if (last_event_id) {
    const auto newest = m_next_id - 1;
    const auto oldest = m_ring.empty() ? m_next_id : m_ring.front().id;
    std::vector<std::shared_ptr<const std::string>> replay;
    bool resync = *last_event_id > newest || *last_event_id + 1 < oldest;
    std::size_t bytes = 0;
    for (auto it = m_ring.begin(); !resync && it != m_ring.end(); ++it) {
      if (it->id <= *last_event_id || !wants(s, *it)) continue;
      bytes += it->frame->size();
      resync = bytes > m_max_replay_bytes;
      replay.push_back(it->frame);
    }
    if (resync) {
      s.sink->send(std::make_shared<const std::string>(
          "event: resync\ndata: {\"reason\":\"events after this id are no longer kept\"}\n\n"));
    } else {
      for (auto& frame : replay) s.sink->send(std::move(frame));
    }
  }
  const auto id = m_next_subscription++;
  m_subscribers.emplace(id, std::move(s));
  return id;
}

void Hub::unsubscribe(std::uint64_t subscription) {
  std::shared_ptr<EventSink> release;  // dropped after the lock
  std::lock_guard lock(m_mutex);
  if (const auto it = m_subscribers.find(subscription); it != m_subscribers.end()) {
    release = std::move(it->second.sink);
    m_subscribers.erase(it);
  }
}

void Hub::keepalive() {
  static const auto k_frame = std::make_shared<const std::string>(": keepalive\n\n");
  std::lock_guard lock(m_mutex);
  for (auto& [id, s] : m_subscribers) s.sink->send(k_frame);
}

std::shared_ptr<void> Hub::reserve_place(std::size_t max) {
  std::lock_guard lock(m_mutex);
  if (m_places >= max) return nullptr;
  ++m_places;
  return std::shared_ptr<void>(static_cast<void*>(this), [this](void*) {
    std::lock_guard release_lock(m_mutex);
    --m_places;
  });
}

std::size_t Hub::subscribers() const {
  std::lock_guard lock(m_mutex);
  return m_subscribers.size();
}

std::uint64_t Hub::last_id() const {
  std::lock_guard lock(m_mutex);
  return m_next_id - 1;
}

}  // namespace streamtrack::web::live
