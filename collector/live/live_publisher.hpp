#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
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

// Sends one message; returns true when the client took it (queued for the broker, or refused
// for good as invalid: it is not tried again), false when it cannot take it for now (not
// connected, its queue full): the value is then kept and tried again (see LivePublisher).
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
// the interval ends, when flush_due() or a later commit sends it. A value the client does not
// take (PublishFn false) is held too, due at once, and sent by the first flush or commit at
// which the client takes messages again; a flush or commit stops at its first refusal. So a
// channel's newest committed value is never dropped, only replaced by a newer one (or left
// unsent when the process ends while the client refuses it). Thread-safe.
//
// Cost: a commit looks at its batch's channels and, like a flush, at the held values that are
// due (and the first one that is not), never at every channel seen; a channel takes its names
// and a few words while nothing is held, a held value its sample.
class LivePublisher {
 public:
  // `min_interval` 0: every commit's values are sent at once (held only while the client
  // refuses them).
  LivePublisher(const wire::Topics& topics, PublishFn publish, const Clock& clock,
                std::chrono::milliseconds min_interval = std::chrono::milliseconds{0});

  // Publishes (or holds back, see above) the newest sample per channel of `batch`, which has
  // just committed; also sends the held values that are due.
  void committed(const std::vector<ingest::Item>& batch);
  // Sends the held values that are due: their channel's interval has ended, or the client
  // refused them (the main loop, each turn; so also after a reconnect).
  void flush_due();
  // Sends every held value now (at shutdown, so that the retained values end at the newest
  // committed ones); what the client refuses stays held.
  void flush_all();
  // Values the client took.
  std::uint64_t published() const;
  // Values waiting (for their interval's end, or for the client).
  std::size_t held() const;
  // Held values the flushes looked at so far (each flush: the due ones, plus the first one
  // that is not); for tests of its cost.
  std::uint64_t examined() const;

 private:
  using Steady = std::chrono::steady_clock;
  struct Channel;
  // The held values by the time they are due, earliest first (ties in the order they were
  // held).
  using DueQueue = std::multimap<Steady::time_point, Channel*>;
  // A committed value waiting for its channel's interval to end, or for the client.
  struct Held {
    Sample sample;
    TimePoint committed_at;
    std::optional<double> chat_per_minute;
    DueQueue::iterator due;
  };
  // Per channel ever committed (there may be very many): kept small.
  struct Channel {
    TimePoint newest{};                    // the newest sample time committed (sent or held)
    Steady::time_point sent_at = k_never;  // its last value's send (the client took it)
    std::unique_ptr<Held> held;            // only while a value is held
  };
  static constexpr Steady::time_point k_never = Steady::time_point::min();

  bool due_locked(const Channel& channel, Steady::time_point now) const;
  // When the channel's interval since its last send ends (saturated: never overflows).
  Steady::time_point interval_end_locked(const Channel& channel) const;
  // True when the client took it (the channel's interval starts again at `now`).
  bool send_locked(Channel& channel, const Sample& s, TimePoint committed_at,
                   std::optional<double> rate, Steady::time_point now);
  // Holds `s` for `channel`, replacing a held value (and keeping its due time) or, when none
  // is held, due at `due`.
  void hold_locked(Channel& channel, const Sample& s, TimePoint committed_at,
                   std::optional<double> rate, Steady::time_point due);
  // Sends the held values that are due at `now`, or all of them when `now` is nullopt, in the
  // order they are due, up to the first the client refuses.
  void flush_locked(std::optional<Steady::time_point> now);

  const wire::Topics& m_topics;
  PublishFn m_publish;
  const Clock& m_clock;
  const std::chrono::milliseconds m_min_interval;
  mutable std::mutex m_mutex;
  // By (platform, channel); its nodes (and so the Channel* of m_due) never move.
  std::map<std::pair<std::string, std::string>, Channel> m_channels;
  DueQueue m_due;  // one entry per held value
  std::uint64_t m_published = 0;
  std::uint64_t m_examined = 0;
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
