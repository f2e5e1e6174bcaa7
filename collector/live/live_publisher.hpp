#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "collector/ingest/item.hpp"
#include "collector/store/store.hpp"
#include "common/util/time.hpp"
#include "common/wire/topics.hpp"

// After a batch commits, its newest sample per channel goes to MQTT as a retained last value on
// <root>/live/<platform>/<channel> (docs/mqtt.md, "Live"), so tools without SQL see committed
// figures. The browser-facing announcement is the database's NOTIFY (schema.hpp); this is the
// MQTT face of the same commit.
namespace streamtrack::collector::live {

// Sends one message; returns false when the broker is unreachable (the value is then skipped:
// the next commit of that channel carries newer figures anyway).
using PublishFn =
    std::function<bool(const std::string& topic, const std::string& payload, bool retained)>;

// The JSON payload of a live topic for committed sample `s`; `chat_per_minute` is null when
// unknown (see chat_per_minute()).
std::string live_payload(const Sample& s, TimePoint committed_at,
                         std::optional<double> chat_per_minute = std::nullopt);

// Chat messages per minute of live sample `s` whose channel's previous sample was taken at
// `previous`: its chat count over the time between the two, as channel_current computes it
// (schema.hpp). Nullopt when `s` is offline or has no chat count, without a previous sample,
// or when the two are not 0 < gap <= 10 minutes apart.
std::optional<double> chat_per_minute(const Sample& s, std::optional<TimePoint> previous);

// <root>/live/<escaped platform>/<escaped channel>.
std::string live_topic(const wire::Topics& topics, const std::string& platform,
                       const std::string& channel);

// Shared by every writer thread: remembers the newest sample time committed per channel so a
// retained value never moves back in time (a late or resent sample is committed but not
// announced as "live"), and sends a channel's value at most once per `min_interval`: a commit
// within the interval holds the channel's newest value back (a newer commit replaces it) until
// the interval ends, when flush_due() or a later commit sends it. Thread-safe.
class LivePublisher {
 public:
  // `min_interval` 0: every commit's values are sent at once.
  LivePublisher(const wire::Topics& topics, PublishFn publish, const Clock& clock,
                std::chrono::milliseconds min_interval = std::chrono::milliseconds{0});

  // Publishes (or holds back, see above) the newest sample per channel of `batch`, which has
  // just committed; also sends the held values that are due.
  void committed(const std::vector<ingest::Item>& batch);
  // Sends the held values whose channel's interval has ended (the main loop, each turn).
  void flush_due();
  // Sends every held value now (at shutdown, so that the retained values end at the newest
  // committed ones).
  void flush_all();
  std::uint64_t published() const;
  std::size_t held() const;

 private:
  // A committed value waiting for its channel's interval to end.
  struct Held {
    Sample sample;
    TimePoint committed_at;
    std::optional<double> chat_per_minute;
  };
  struct Channel {
    TimePoint newest{};  // the newest sample time committed (sent or held)
    std::optional<std::chrono::steady_clock::time_point> sent_at;  // its last value's send
    std::optional<Held> held;
  };
  using Steady = std::chrono::steady_clock;
  bool due_locked(const Channel& channel, Steady::time_point now) const;
  void send_locked(Channel& channel, const Sample& s, TimePoint committed_at,
                   std::optional<double> rate, Steady::time_point now);
  // Sends the held values that are due at `now`, or all of them when `now` is nullopt.
  void flush_locked(std::optional<Steady::time_point> now);

  const wire::Topics& m_topics;
  PublishFn m_publish;
  const Clock& m_clock;
  const std::chrono::milliseconds m_min_interval;
  mutable std::mutex m_mutex;
  std::map<std::pair<std::string, std::string>, Channel> m_channels;
  std::size_t m_held = 0;
  std::uint64_t m_published = 0;
};

// A Store that tells `publisher` about every batch its inner store committed.
class LivePublishingStore final : public store::Store {
 public:
  LivePublishingStore(store::Store& inner, LivePublisher& publisher)
      : m_inner(inner), m_publisher(publisher) {}
  store::WriteOutcome write(const std::vector<ingest::Item>& batch) override;

 private:
  store::Store& m_inner;
  LivePublisher& m_publisher;
};

}  // namespace streamtrack::collector::live
