#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "web/api/request.hpp"

// Fan-out of committed updates to live (SSE) clients, with a bounded ring for resuming.
// No I/O: frames go to EventSinks, which the HTTP server implements. Thread-safe.
namespace streamtrack::web::live {

class Hub {
 public:
  // `first_id` is the id of the first event; the daemon starts from its start time in
  // microseconds so ids keep growing across restarts.
  // A replay longer than `max_replay_bytes` is replaced by `event: resync` (a client that far
  // behind would overflow its own send buffer and come back with the same id forever).
  Hub(std::size_t ring_size, std::uint64_t first_id,
      std::size_t max_replay_bytes = static_cast<std::size_t>(-1));

  // Adds an event ("sample" or "stats") to the ring and sends it to every subscriber that
  // wants it: sample events of `channel_id` go to the overview and that channel's subscribers,
  // other events (channel_id 0) to the overview only, channel_id -1 to everyone. Returns its
  // id.
  std::uint64_t publish(const std::string& event, std::int64_t channel_id,
                        const std::string& data_json);

  // Subscribes `sink` to the overview (no channel) or to one channel. With `last_event_id`,
  // first replays what the ring holds after it; when the ring no longer reaches back that far
  // (or the id is from the future, i.e. another daemon instance, or the replay would exceed
  // max_replay_bytes), sends an `event: resync` frame instead so the client reloads. Returns the
  // subscription id.
  std::uint64_t subscribe(std::shared_ptr<EventSink> sink, std::optional<std::int64_t> channel_id,
                          std::optional<std::uint64_t> last_event_id);
  void unsubscribe(std::uint64_t subscription);

  // Sends the comment line ": keepalive" to every subscriber.
  void keepalive();

  // A place among at most `max` live clients, or nullptr when all are taken. A live request
  // takes one when it is admitted (on a worker) and its owner keeps it until the stream ends:
  // first the pending stream, then the subscription. The stream opens later, on the event
  // loop, so counting subscribers alone would let a burst of admissions past the cap. The hub
  // must outlive every place.
  std::shared_ptr<void> reserve_place(std::size_t max);

  std::size_t subscribers() const;
  std::uint64_t last_id() const;

  // The SSE text of one event.
  static std::string frame(std::uint64_t id, const std::string& event,
                           const std::string& data_json);

 private:
  struct Event {
    std::uint64_t id;
    std::int64_t channel_id;
    std::shared_ptr<const std::string> frame;
  };
  struct Subscriber {
    std::shared_ptr<EventSink> sink;
    std::optional<std::int64_t> channel_id;
  };
  static bool wants(const Subscriber& s, const Event& e) {
    return !s.channel_id || e.channel_id < 0 ||
           (e.channel_id != 0 && e.channel_id == *s.channel_id);
  }

  mutable std::mutex m_mutex;
  std::size_t m_ring_size;
  std::size_t m_max_replay_bytes;
  std::deque<Event> m_ring;
  std::uint64_t m_next_id;
  std::uint64_t m_next_subscription = 1;
  std::map<std::uint64_t, Subscriber> m_subscribers;
  std::size_t m_places = 0;  // reserved by reserve_place() and not yet released
};

}  // namespace streamtrack::web::live
