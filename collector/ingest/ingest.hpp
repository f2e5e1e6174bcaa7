#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "collector/ingest/item.hpp"
#include "common/wire/topics.hpp"

namespace streamtrack::collector::ingest {

// The sample times the collector stores: from 2000-01-01 (and, with retention, from the first
// month still kept) to `max_future` ahead of the collector's clock. Anything outside is refused:
// it could only land in a month no partition covers (or one retention is about to drop).
struct TimeWindow {
  std::chrono::milliseconds max_future{std::chrono::hours{1}};
  int retention_months = 0;  // 0: no lower bound beyond 2000-01-01

  // The first accepted time at `now`.
  TimePoint earliest(TimePoint now) const;
  // The last accepted time at `now`.
  TimePoint latest(TimePoint now) const { return now + max_future; }
};

// Payload bytes kept of a rejected message (with the full size in the reject); longer ones are
// truncated so that a huge message costs memory only until it is classified.
inline constexpr std::size_t k_max_reject_payload_bytes = wire::k_max_payload_bytes;
// Topic bytes kept of a rejected message.
inline constexpr std::size_t k_max_reject_topic_bytes = 1024;

// Decodes one MQTT message into an Item. Anything that is not a valid sample, status or health
// on one of our topics becomes a reject with a one-line reason (the codec's reason, a mismatch
// between topic and payload, or a sample time outside `window` at `received_at`); a reject
// keeps at most k_max_reject_payload_bytes of the payload. Returns nullopt for messages to
// ignore: an empty retained status (a cleared retained message). Never throws.
std::optional<Item> classify(const wire::Topics& topics, std::string topic, std::string payload,
                             TimePoint received_at, const TimeWindow& window = {});

// What one MQTT message carried.
struct Classified {
  std::vector<Item> items;        // in the order of the message (a frame's elements in order)
  bool frame = false;             // the message was on a frames topic
  std::size_t frame_samples = 0;  // elements of a frame that was decoded (its items)
};

// classify() for every topic, and frames (<root>/<agent>/frames, wire/frame.hpp) as well: a
// frame gives one Item per element of "samples", each a sample or a reject of its own exactly
// as that sample alone on its metrics topic would be (its text as payload, the codec's or the
// time window's reason; a decoded sample of the frame's agent stays with its reject, so that
// it is acknowledged), or, when the frame is refused whole (over the size or sample bound,
// truncated, an agent that does not match the topic's, ...), a single reject. Never throws.
Classified classify_message(const wire::Topics& topics, std::string topic, std::string payload,
                            TimePoint received_at, const TimeWindow& window = {});

// The subscriptions of a collector: metrics, frames, status and health of every agent, each
// through $share/<group>/ when `shared_group` is not empty.
std::vector<std::string> subscriptions(const wire::Topics& topics, const std::string& shared_group);

// When a writer's batch is due (IngestQueue::take_batch).
struct BatchCut {
  std::size_t max_rows = 5000;
  // The longest the oldest row waits while a batch is being written.
  std::chrono::milliseconds max_delay{200};
  // How long the oldest row waits for others while no batch is being written (0: none, the
  // rows are due at once). Never beyond max_delay.
  std::chrono::milliseconds min_delay{0};
};

// Items waiting to be written, bounded: at most `max_pending` items and `max_pending_bytes`
// bytes (footprint()) are queued or being written at once; beyond that push() refuses (the
// sample stays in its agent's outbox, which resends it because it was never acknowledged).
// Thread-safe.
class IngestQueue {
 public:
  explicit IngestQueue(std::size_t max_pending, std::size_t max_pending_bytes = SIZE_MAX)
      : m_max_pending(max_pending), m_max_pending_bytes(max_pending_bytes) {}

  // The memory an item holds while queued: its strings and the fixed size of an Item.
  static std::size_t footprint(const Item& item);

  // False when the queue is full or closed (the item is dropped).
  bool push(Item item);
  // Pushes `items` in order, as one step: a writer never takes some of them before the others
  // are queued (the elements of a frame). Those that do not fit (from the first refused on)
  // are dropped and counted as push() would. Returns how many were queued.
  std::size_t push_all(std::vector<Item> items);

  // Waits until a batch is due: `cut.max_rows` items queued; or the queue is full (push()
  // refuses: max_pending items or max_pending_bytes held, or a push was refused since the last
  // release), then what it holds is due at once; or the oldest queued item waited
  // `cut.min_delay` while no batch is being written (none taken and not yet released: group
  // commit; rows that arrived during a write are due once their first row has waited
  // min_delay, not as soon as the write ends), or `cut.max_delay` while one is; or the queue is
  // closed. A delay too long for the clock never expires (no overflow). Returns up to
  // `max_rows` items; they count as pending and as being written until release(). An empty
  // result means the queue is closed and drained.
  std::vector<Item> take_batch(const BatchCut& cut);
  // take_batch with no min_delay.
  std::vector<Item> take_batch(std::size_t max_rows, std::chrono::milliseconds max_delay) {
    return take_batch(BatchCut{max_rows, max_delay, std::chrono::milliseconds{0}});
  }
  // The same, but also returns an empty batch (taking nothing) as soon as interruptions()
  // differs from `interruptions_seen`, even before the call, unless the queue is closed (then
  // it returns what is left, as above). A writer reads the count, then its options, and so
  // never waits under options replaced before the matching interrupt().
  std::vector<Item> take_batch(const BatchCut& cut, std::uint64_t interruptions_seen);

  // Ends every take_batch given an older interruptions() count (new batch options are due).
  void interrupt();
  std::uint64_t interruptions() const;

  // Replaces max_pending and max_pending_bytes. Queued items all stay; push() refuses until
  // the queue is below the new limits.
  void set_limits(std::size_t max_pending, std::size_t max_pending_bytes);

  // The writer finished with `batch`, taken by take_batch (written or given up).
  void release(const std::vector<Item>& batch);

  // Wakes every take_batch; afterwards they return what is left without waiting.
  void close();

  bool closed() const;
  std::size_t pending() const;
  std::size_t pending_bytes() const;
  std::uint64_t dropped() const;

 private:
  struct Entry {
    Item item;
    std::chrono::steady_clock::time_point at;
  };
  bool push_locked(Item& item, std::chrono::steady_clock::time_point now);
  // Whether push() refuses (some items at least): see take_batch.
  bool full_locked() const;
  std::vector<Item> take_batch_locked(std::unique_lock<std::mutex>& lock, const BatchCut& cut,
                                      std::optional<std::uint64_t> interruptions_seen);
  mutable std::mutex m_mutex;
  std::condition_variable m_cv;
  std::deque<Entry> m_queue;
  // Writers need waking only when the queue stops being empty (to start the max_delay clock)
  // and when a full batch is ready: a wake-up per push cost a context switch per message.
  std::size_t m_waiting = 0;            // take_batch calls blocked on m_cv
  std::size_t m_batch_rows = SIZE_MAX;  // max_rows of the latest take_batch
  std::size_t m_batches_out = 0;        // batches taken and not yet released (being written)
  std::size_t m_max_pending;
  std::size_t m_max_pending_bytes;
  std::size_t m_pending = 0;
  std::size_t m_pending_bytes = 0;
  std::uint64_t m_dropped = 0;
  std::uint64_t m_interruptions = 0;
  bool m_refused = false;  // a push was refused for the limits since the last release
  bool m_closed = false;
};

}  // namespace streamtrack::collector::ingest
