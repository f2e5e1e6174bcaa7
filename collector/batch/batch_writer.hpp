#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "collector/ingest/ingest.hpp"
#include "collector/store/store.hpp"

// Moves batches from the IngestQueue into a Store and acknowledges what committed.
namespace streamtrack::collector::batch {

// Receives, after each commit, the committed seqs of one agent (any order).
using AckSink = std::function<void(const std::string& agent, std::vector<std::int64_t> seqs)>;

struct WriterOptions {
  std::size_t max_rows = 5000;
  std::chrono::milliseconds max_delay{200};
  std::chrono::milliseconds min_delay{0};  // ingest::BatchCut::min_delay
  std::chrono::milliseconds retry_min{250};
  std::chrono::milliseconds retry_max{10'000};
};

// The options of running writers, replaced on SIGHUP. Thread-safe.
class WriterSettings {
 public:
  explicit WriterSettings(WriterOptions options) : m_options(options) {}

  WriterOptions current() const {
    std::lock_guard lock(m_mutex);
    return m_options;
  }

  // Replaces the options and interrupts the writers waiting on `queue`, so that each uses
  // `options` from its next batch on, also when it was waiting for a batch under the old ones.
  // Batches already taken are written as they are: no item is lost, repeated or reordered.
  void update(WriterOptions options, ingest::IngestQueue& queue) {
    {
      std::lock_guard lock(m_mutex);
      m_options = options;
    }
    queue.interrupt();
  }

 private:
  mutable std::mutex m_mutex;
  WriterOptions m_options;
};

struct WriterCounters {
  std::atomic<std::uint64_t> batches{0};
  std::atomic<std::uint64_t> samples{0};  // committed into livestream_metrics (or sessions)
  std::atomic<std::uint64_t> rejects{0};  // written to ingest_rejects (decode and database)
  std::atomic<std::uint64_t> retries{0};  // failed attempts that will be retried
};

class BatchWriter {
 public:
  BatchWriter(store::Store& store, AckSink acks, WriterCounters& counters)
      : m_store(store), m_acks(std::move(acks)), m_counters(counters) {}

  // One attempt to write `batch`: ok (every item committed, or refused and stored as a
  // reject) or retry, never error. When the database refuses rows, the batch is split in
  // halves until each refused item stands alone; such an item is written to ingest_rejects
  // with the database's reason instead (a refused reject is logged and dropped, the only data
  // the collector ever discards). Every part that commits is acknowledged at once; a retry
  // means some parts may still be uncommitted (writing them again is harmless).
  Outcome write(std::span<const ingest::Item> batch);
  // The same for a whole batch, handed to the Store without a copy.
  Outcome write(const std::vector<ingest::Item>& batch);

  // Takes batches from `queue` and writes each until it commits, backing off between retries,
  // until the queue is closed and drained. With `abandon` set, a batch still failing is given
  // up (it was never acknowledged, so its agents still hold it). Each batch is taken under
  // the options current when it is cut (WriterSettings::update).
  void run(ingest::IngestQueue& queue, const WriterSettings& settings,
           const std::atomic<bool>& abandon);

 private:
  Outcome settle(std::span<const ingest::Item> batch, const store::WriteOutcome& outcome);
  Outcome write_alone(const ingest::Item& item, const std::string& error);
  // Acts on a store's ok (acknowledges `items`) and retry (keeps the error for the log);
  // returns the outcome, leaving error to the caller.
  Outcome record(std::span<const ingest::Item> items, const store::WriteOutcome& outcome);
  void acknowledge(std::span<const ingest::Item> items);

  store::Store& m_store;
  AckSink m_acks;
  WriterCounters& m_counters;
  std::string m_last_error;
};

}  // namespace streamtrack::collector::batch
