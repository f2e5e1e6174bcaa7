#include "collector/batch/batch_writer.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

namespace streamtrack::collector::batch {
namespace {

using ingest::Item;

// Refuses any batch containing a sample whose seq is in `bad`; answers retry while `down`.
class FakeStore final : public store::Store {
 public:
  std::set<std::int64_t> bad;
  bool down = false;
  bool refuse_rejects = false;
  std::vector<std::vector<Item>> committed;
  int calls = 0;

  store::WriteOutcome write(const std::vector<Item>& batch) override {
    ++calls;
    if (down) return {Outcome::retry, "SQLSTATE 08006: connection refused"};
    for (const auto& i : batch) {
      if (i.kind == Item::Kind::sample && bad.count(i.sample->seq)) {
        return {Outcome::error, "SQLSTATE 22P05: bad text"};
      }
      if (i.kind == Item::Kind::reject && refuse_rejects) {
        return {Outcome::error, "SQLSTATE 22000: no"};
      }
    }
    committed.push_back(batch);
    return {};
  }
};

Item sample_item(const std::string& agent, std::int64_t seq) {
  Item i;
  i.kind = Item::Kind::sample;
  i.agent = agent;
  i.topic = "t/" + std::to_string(seq);
  Sample s;
  s.agent = agent;
  s.seq = seq;
  i.sample = s;
  return i;
}

struct Acks {
  std::map<std::string, std::set<std::int64_t>> seqs;
  AckSink sink() {
    return [this](const std::string& agent, std::vector<std::int64_t> list) {
      seqs[agent].insert(list.begin(), list.end());
    };
  }
};

TEST(BatchWriter, CommitsAndAcknowledgesPerAgent) {
  FakeStore store;
  Acks acks;
  WriterCounters counters;
  BatchWriter writer(store, acks.sink(), counters);
  std::vector<Item> batch{sample_item("a", 1), sample_item("b", 7), sample_item("a", 2)};
  EXPECT_EQ(writer.write(batch), Outcome::ok);
  EXPECT_EQ(acks.seqs["a"], (std::set<std::int64_t>{1, 2}));
  EXPECT_EQ(acks.seqs["b"], (std::set<std::int64_t>{7}));
  EXPECT_EQ(counters.samples, 3u);
}

TEST(BatchWriter, NothingIsAcknowledgedWhileTheDatabaseIsDown) {
  FakeStore store;
  store.down = true;
  Acks acks;
  WriterCounters counters;
  BatchWriter writer(store, acks.sink(), counters);
  std::vector<Item> batch{sample_item("a", 1), sample_item("a", 2)};
  EXPECT_EQ(writer.write(batch), Outcome::retry);
  EXPECT_TRUE(acks.seqs.empty());
  store.down = false;
  EXPECT_EQ(writer.write(batch), Outcome::ok);
  EXPECT_EQ(acks.seqs["a"], (std::set<std::int64_t>{1, 2}));
}

TEST(BatchWriter, RefusedRowsAreIsolatedIntoRejectsAndTheRestCommits) {
  FakeStore store;
  store.bad = {5, 11};
  Acks acks;
  WriterCounters counters;
  BatchWriter writer(store, acks.sink(), counters);
  std::vector<Item> batch;
  for (int i = 1; i <= 16; ++i) batch.push_back(sample_item("a", i));
  EXPECT_EQ(writer.write(batch), Outcome::ok);

  std::set<std::int64_t> stored;
  std::vector<Item> rejects;
  for (const auto& b : store.committed) {
    for (const auto& i : b) {
      if (i.kind == Item::Kind::sample) stored.insert(i.sample->seq);
      if (i.kind == Item::Kind::reject) rejects.push_back(i);
    }
  }
  EXPECT_EQ(stored.size(), 14u);
  EXPECT_FALSE(stored.count(5));
  ASSERT_EQ(rejects.size(), 2u);
  EXPECT_EQ(rejects[0].reason, "SQLSTATE 22P05: bad text");
  EXPECT_EQ(rejects[0].origin, Item::Origin::database);
  EXPECT_EQ(rejects[0].topic, "t/5");
  // Rejected rows are durably in ingest_rejects: acknowledged so agents stop resending.
  EXPECT_EQ(acks.seqs["a"].size(), 16u);
  EXPECT_EQ(counters.samples, 14u);
  EXPECT_EQ(counters.rejects, 2u);
}

TEST(BatchWriter, RetryDuringIsolationAcknowledgesOnlyCommittedParts) {
  FakeStore store;
  store.bad = {1};
  Acks acks;
  WriterCounters counters;
  std::vector<Item> batch{sample_item("a", 1), sample_item("a", 2)};
  // First attempt refused; then the database goes away before the halves are written.
  struct DownAfterFirst final : store::Store {
    FakeStore& inner;
    explicit DownAfterFirst(FakeStore& s) : inner(s) {}
    store::WriteOutcome write(const std::vector<Item>& b) override {
      auto r = inner.write(b);
      inner.down = true;
      return r;
    }
  } flaky(store);
  BatchWriter flaky_writer(flaky, acks.sink(), counters);
  EXPECT_EQ(flaky_writer.write(batch), Outcome::retry);
  EXPECT_TRUE(acks.seqs.empty());
}

TEST(BatchWriter, RunDrainsTheQueueAndReleasesPending) {
  FakeStore store;
  Acks acks;
  WriterCounters counters;
  BatchWriter writer(store, acks.sink(), counters);
  ingest::IngestQueue queue(100);
  for (int i = 1; i <= 10; ++i) queue.push(sample_item("a", i));
  queue.close();
  std::atomic<bool> abandon{false};
  WriterOptions options;
  options.max_rows = 4;
  writer.run(queue, WriterSettings(options), abandon);
  EXPECT_EQ(store.committed.size(), 3u);
  EXPECT_EQ(queue.pending(), 0u);
  EXPECT_EQ(acks.seqs["a"].size(), 10u);
}

// A FakeStore for a writer running on its own thread: records each committed batch and lets
// the test wait for them.
class SyncStore final : public store::Store {
 public:
  store::WriteOutcome write(const std::vector<Item>& batch) override {
    {
      std::lock_guard lock(m_mutex);
      m_committed.push_back(batch);
    }
    m_cv.notify_all();
    return {};
  }
  // The committed batches once there are at least `n` (or whatever there is after 10 s).
  std::vector<std::vector<Item>> wait_for(std::size_t n) {
    std::unique_lock lock(m_mutex);
    m_cv.wait_for(lock, std::chrono::seconds{10}, [&] { return m_committed.size() >= n; });
    return m_committed;
  }

 private:
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::vector<std::vector<Item>> m_committed;
};

std::vector<std::size_t> sizes(const std::vector<std::vector<Item>>& batches) {
  std::vector<std::size_t> out;
  for (const auto& b : batches) out.push_back(b.size());
  return out;
}

TEST(BatchWriter, RunTakesNewOptionsAtTheNextBatchWithoutLosingOrReorderingRows) {
  using namespace std::chrono_literals;
  SyncStore store;
  Acks acks;
  WriterCounters counters;
  BatchWriter writer(store, acks.sink(), counters);
  ingest::IngestQueue queue(100);
  std::atomic<bool> abandon{false};
  // max_delay and min_delay of an hour: a batch is cut only when max_rows rows are queued (with
  // no min_delay, a row pushed while no batch is being written would be due at once, and the
  // writer could take it before the rows pushed after it).
  WriterSettings settings({.max_rows = 2, .max_delay = 1h, .min_delay = 1h});
  std::thread running([&] { writer.run(queue, settings, abandon); });

  std::int64_t seq = 0;
  for (int i = 0; i < 4; ++i) queue.push(sample_item("a", ++seq));
  EXPECT_EQ(sizes(store.wait_for(2)), (std::vector<std::size_t>{2, 2}));

  // The writer now waits for two rows under the old options; the update reaches it there.
  settings.update({.max_rows = 3, .max_delay = 1h, .min_delay = 1h}, queue);
  for (int i = 0; i < 6; ++i) queue.push(sample_item("a", ++seq));
  EXPECT_EQ(sizes(store.wait_for(4)), (std::vector<std::size_t>{2, 2, 3, 3}));

  settings.update({.max_rows = 1, .max_delay = 1h, .min_delay = 1h}, queue);
  queue.push(sample_item("a", ++seq));
  const auto committed = store.wait_for(5);
  EXPECT_EQ(sizes(committed), (std::vector<std::size_t>{2, 2, 3, 3, 1}));

  queue.close();
  running.join();
  std::vector<std::int64_t> order;
  for (const auto& b : committed) {
    for (const auto& i : b) order.push_back(i.sample->seq);
  }
  EXPECT_EQ(order, (std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}));
  EXPECT_EQ(acks.seqs["a"].size(), 11u);
  EXPECT_EQ(queue.pending(), 0u);
  EXPECT_EQ(settings.current().max_rows, 1u);
}

}  // namespace
}  // namespace streamtrack::collector::batch
