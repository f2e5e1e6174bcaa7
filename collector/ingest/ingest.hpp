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

// Decodes one MQTT message into an Item. Anything that is not a valid sample, status or health
// on one of our topics becomes a reject with a one-line reason (the codec's reason, or a
// mismatch between topic and payload). Returns nullopt for messages to ignore: an empty
// retained status (a cleared retained message). Never throws.
std::optional<Item> classify(const wire::Topics& topics, std::string topic, std::string payload,
                             TimePoint received_at);

// The subscriptions of a collector: metrics, status and health of every agent, each through
// $share/<group>/ when `shared_group` is not empty.
std::vector<std::string> subscriptions(const wire::Topics& topics, const std::string& shared_group);

// Items waiting to be written, bounded: at most `max_pending` items are queued or being
// written at once; beyond that push() refuses (the sample stays in its agent's outbox, which
// resends it because it was never acknowledged). Thread-safe.
class IngestQueue {
 public:
  explicit IngestQueue(std::size_t max_pending) : m_max_pending(max_pending) {}

  // False when the queue is full or closed (the item is dropped).
  bool push(Item item);

  // Waits until a batch is due: `max_rows` items queued, or the oldest queued item waited
  // `max_delay`, or the queue is closed. Returns up to `max_rows` items; they count as pending
  // until release(). An empty result means the queue is closed and drained.
  std::vector<Item> take_batch(std::size_t max_rows, std::chrono::milliseconds max_delay);

  // The writer finished with `n` items taken by take_batch (written or given up).
  void release(std::size_t n);

  // Wakes every take_batch; afterwards they return what is left without waiting.
  void close();

  std::size_t pending() const;
  std::uint64_t dropped() const;

 private:
  struct Entry {
    Item item;
    std::chrono::steady_clock::time_point at;
  };
  mutable std::mutex m_mutex;
  std::condition_variable m_cv;
  std::deque<Entry> m_queue;
  // Writers need waking only when the queue stops being empty (to start the max_delay clock)
  // and when a full batch is ready: a wake-up per push cost a context switch per message.
  std::size_t m_waiting = 0;            // take_batch calls blocked on m_cv
  std::size_t m_batch_rows = SIZE_MAX;  // max_rows of the latest take_batch
  std::size_t m_max_pending;
  std::size_t m_pending = 0;
  std::uint64_t m_dropped = 0;
  bool m_closed = false;
};

}  // namespace streamtrack::collector::ingest
