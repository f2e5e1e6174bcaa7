#include "collector/live/live_publisher.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace streamtrack::collector::live {
namespace {

using namespace std::chrono_literals;

struct Published {
  std::string topic;
  std::string payload;
  bool retained;
};

class FakeStore final : public store::Store {
 public:
  store::WriteOutcome write(const std::vector<ingest::Item>&) override { return next; }
  store::WriteOutcome next;
};

ingest::Item sample_item(const std::string& channel, TimePoint ts, std::int64_t viewers) {
  Sample s;
  s.agent = "a1";
  s.platform = "owncast";
  s.channel = channel;
  s.ts = ts;
  s.live = true;
  s.viewers = viewers;
  ingest::Item item;
  item.kind = ingest::Item::Kind::sample;
  item.sample = s;
  return item;
}

class LivePublisherTest : public ::testing::Test {
 protected:
  const wire::Topics topics{"st/v1"};
  ManualClock clock{*parse_rfc3339("2026-11-25T01:00:00Z")};
  std::vector<Published> sent;
  // A client that takes every message, recording it in `sent`.
  PublishFn record() {
    return [this](const std::string& t, const std::string& p, bool r) {
      sent.push_back({t, p, r});
      return true;
    };
  }
  LivePublisher publisher{topics, record(), clock};
  FakeStore inner;
  LivePublishingStore store{inner, publisher};
  TimePoint t0 = *parse_rfc3339("2026-11-25T00:59:00Z");
};

TEST_F(LivePublisherTest, PublishesTheNewestCommittedSamplePerChannelRetained) {
  store.write({sample_item("a/b", t0 + 2s, 20), sample_item("a/b", t0 + 1s, 10),
               sample_item("other", t0, 5)});
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].topic, "st/v1/live/owncast/a%2Fb");  // names cannot add topic levels
  EXPECT_TRUE(sent[0].retained);
  const auto j = nlohmann::json::parse(sent[0].payload);
  EXPECT_EQ(j["viewers"], 20);
  EXPECT_EQ(j["channel"], "a/b");
  EXPECT_EQ(j["t"], "2026-11-25T00:59:02.000Z");
  EXPECT_EQ(j["committed_at"], "2026-11-25T01:00:00.000Z");
  EXPECT_EQ(sent[1].topic, "st/v1/live/owncast/other");
}

// Within a batch in any order, a channel's value is its first sample of the newest time, and
// its chat rate spans the gap to the latest earlier time of the batch.
TEST_F(LivePublisherTest, TheNewestOfABatchInAnyOrderAndItsRateFromTheLatestEarlierTime) {
  auto item = [&](TimePoint ts, std::int64_t viewers, std::int64_t chat) {
    auto i = sample_item("c", ts, viewers);
    i.sample->chat_messages = chat;
    return i;
  };
  store.write({item(t0 + 30s, 30, 12), item(t0 + 10s, 10, 1), item(t0 + 30s, 31, 99),
               item(t0 + 20s, 20, 2), item(t0 + 5s, 5, 3)});
  ASSERT_EQ(sent.size(), 1u);
  const auto j = nlohmann::json::parse(sent[0].payload);
  EXPECT_EQ(j["viewers"], 30);  // the first of the two at 30 s
  EXPECT_EQ(j["t"], "2026-11-25T00:59:30.000Z");
  EXPECT_DOUBLE_EQ(j["chat_per_minute"].get<double>(), 12 * 60.0 / 10);  // since 20 s
}

TEST_F(LivePublisherTest, NothingForAFailedWriteAndNeverBackInTime) {
  inner.next = {Outcome::retry, "down"};
  store.write({sample_item("c", t0 + 5s, 50)});
  EXPECT_TRUE(sent.empty());
  inner.next = {};
  store.write({sample_item("c", t0 + 5s, 50)});
  store.write({sample_item("c", t0 + 1s, 10)});  // a late sample: committed, not "live"
  store.write({sample_item("c", t0 + 5s, 50)});  // a resend
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(publisher.published(), 1u);
}

// [live] min_interval: at most one value per channel and interval, the newest committed one,
// sent when the interval ends (or at shutdown); never back in time.
TEST_F(LivePublisherTest, AChannelGetsAtMostOneValuePerIntervalTheNewestWhenItEnds) {
  LivePublisher throttled{topics, record(), clock, 1s};
  LivePublishingStore throttled_store{inner, throttled};
  const auto viewers = [&](std::size_t i) {
    return nlohmann::json::parse(sent.at(i).payload)["viewers"].get<int>();
  };
  throttled_store.write({sample_item("c", t0 + 1s, 10)});
  ASSERT_EQ(sent.size(), 1u);  // the first value of a channel leaves at once
  clock.advance(100ms);
  throttled_store.write({sample_item("c", t0 + 2s, 20)});
  const auto committed_at = clock.now();
  clock.advance(100ms);
  throttled_store.write({sample_item("c", t0 + 3s, 30), sample_item("d", t0, 5)});
  ASSERT_EQ(sent.size(), 2u);  // "d" at once, "c" held back
  EXPECT_EQ(sent[1].topic, "st/v1/live/owncast/d");
  EXPECT_EQ(throttled.held(), 1u);
  throttled_store.write({sample_item("c", t0 + 2500ms, 25)});  // late: never announced
  throttled.flush_due();
  EXPECT_EQ(sent.size(), 2u);  // the interval has not ended
  clock.advance(800ms);
  throttled.flush_due();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[2].topic, "st/v1/live/owncast/c");
  EXPECT_EQ(viewers(2), 30);  // the newest, with the time of its own commit
  EXPECT_EQ(nlohmann::json::parse(sent[2].payload)["committed_at"],
            format_rfc3339(committed_at + 100ms));
  EXPECT_EQ(throttled.held(), 0u);
  // The interval starts again from that send; a shutdown sends what is held at once.
  clock.advance(100ms);
  throttled_store.write({sample_item("c", t0 + 4s, 40)});
  EXPECT_EQ(sent.size(), 3u);
  throttled.flush_all();
  ASSERT_EQ(sent.size(), 4u);
  EXPECT_EQ(viewers(3), 40);
  EXPECT_EQ(throttled.published(), 4u);
}

// After a quiet interval a commit's value leaves at once, replacing a held older one.
TEST_F(LivePublisherTest, AValueDueAtItsCommitLeavesAtOnceAndReplacesTheHeldOne) {
  LivePublisher throttled{topics, record(), clock, 1s};
  LivePublishingStore throttled_store{inner, throttled};
  throttled_store.write({sample_item("c", t0 + 1s, 10)});
  throttled_store.write({sample_item("c", t0 + 2s, 20)});
  EXPECT_EQ(throttled.held(), 1u);
  clock.advance(1s);
  throttled_store.write({sample_item("c", t0 + 3s, 30)});
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(sent[1].payload)["viewers"], 30);
  EXPECT_EQ(throttled.held(), 0u);
  throttled.flush_all();
  EXPECT_EQ(sent.size(), 2u);
}

// A client that refuses the next `refuse` messages (broker disconnected, queue full), then
// accepts.
class RefusingClient {
 public:
  explicit RefusingClient(std::vector<Published>& sent) : m_sent(sent) {}
  PublishFn fn() {
    return [this](const std::string& t, const std::string& p, bool r) {
      ++attempts;
      if (refuse > 0) {
        --refuse;
        return false;
      }
      m_sent.push_back({t, p, r});
      return true;
    };
  }
  int refuse = 0;
  int attempts = 0;

 private:
  std::vector<Published>& m_sent;
};

int viewers_of(const Published& p) {
  return nlohmann::json::parse(p.payload)["viewers"];
}

// A held value the client refuses stays held, and leaves at the next flush the client takes:
// the newer sample that replaced it in channel.newest must not make it skipped.
TEST_F(LivePublisherTest, AHeldValueTheClientRefusesIsSentWhenItAcceptsAgain) {
  RefusingClient client{sent};
  LivePublisher throttled{topics, client.fn(), clock, 1s};
  LivePublishingStore throttled_store{inner, throttled};
  throttled_store.write({sample_item("c", t0 + 1s, 10)});
  throttled_store.write({sample_item("c", t0 + 2s, 20)});
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_EQ(throttled.held(), 1u);
  clock.advance(1s);
  client.refuse = 1;
  throttled.flush_due();  // refused
  EXPECT_EQ(sent.size(), 1u);
  EXPECT_EQ(throttled.held(), 1u);
  throttled.flush_due();  // taken
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(viewers_of(sent[1]), 20);
  EXPECT_EQ(throttled.held(), 0u);
  EXPECT_EQ(throttled.published(), 2u);
  // An agent's resend of the same sample after the reconnect is not announced twice.
  throttled_store.write({sample_item("c", t0 + 2s, 20)});
  throttled.flush_all();
  EXPECT_EQ(sent.size(), 2u);
}

// A value due at its commit that the client refuses is kept, not lost: it leaves at the next
// flush the client takes (the main loop's, each turn), unless a newer commit replaced it.
TEST_F(LivePublisherTest, AValueRefusedAtItsCommitIsKeptUntilTheClientAccepts) {
  for (const auto interval : {0s, 1s}) {
    SCOPED_TRACE(interval.count());
    sent.clear();
    RefusingClient client{sent};
    LivePublisher p{topics, client.fn(), clock, interval};
    LivePublishingStore s{inner, p};
    client.refuse = 1;
    s.write({sample_item("c", t0 + 1s, 10), sample_item("d", t0 + 1s, 11)});
    // The client refused "c"; "d" is not even tried while it refuses, and waits too.
    EXPECT_EQ(client.attempts, 1);
    EXPECT_TRUE(sent.empty());
    EXPECT_EQ(p.held(), 2u);
    p.flush_due();
    ASSERT_EQ(sent.size(), 2u);
    EXPECT_EQ(p.held(), 0u);
    // Refused again; a newer commit replaces the kept value, which is never sent.
    clock.advance(1s);
    client.refuse = 1;
    s.write({sample_item("c", t0 + 2s, 20)});
    EXPECT_EQ(p.held(), 1u);
    s.write({sample_item("c", t0 + 3s, 30)});
    ASSERT_EQ(sent.size(), 3u);
    EXPECT_EQ(viewers_of(sent[2]), 30);
    EXPECT_EQ(p.held(), 0u);
  }
}

// At shutdown, a value the client refuses stays held (a later flush_all may still send it).
TEST_F(LivePublisherTest, FlushAllKeepsWhatTheClientRefuses) {
  RefusingClient client{sent};
  LivePublisher throttled{topics, client.fn(), clock, 1h};
  LivePublishingStore throttled_store{inner, throttled};
  throttled_store.write({sample_item("c", t0 + 1s, 10)});
  throttled_store.write({sample_item("c", t0 + 2s, 20)});
  client.refuse = 1;
  throttled.flush_all();
  EXPECT_EQ(throttled.held(), 1u);
  throttled.flush_all();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(viewers_of(sent[1]), 20);
  EXPECT_EQ(throttled.held(), 0u);
}

// Idle channels cost no work: a flush looks at the held values that are due (and the first
// one that is not), never at every channel seen.
TEST_F(LivePublisherTest, AFlushLooksOnlyAtTheValuesThatAreDue) {
  LivePublisher throttled{topics, record(), clock, 1s};
  LivePublishingStore throttled_store{inner, throttled};
  std::vector<ingest::Item> idle;
  for (int i = 0; i < 10'000; ++i) idle.push_back(sample_item("idle" + std::to_string(i), t0, 1));
  throttled_store.write(idle);
  ASSERT_EQ(sent.size(), 10'000u);
  // Two held values, due when their interval ends, 1 s after the idle batch.
  throttled_store.write({sample_item("idle1", t0 + 1s, 2)});
  ASSERT_EQ(throttled.held(), 1u);
  const auto before = throttled.examined();
  for (int turn = 0; turn < 100; ++turn) throttled.flush_due();  // nothing due yet
  throttled_store.write({sample_item("idle2", t0 + 1s, 3)});     // a commit, nothing due
  EXPECT_EQ(throttled.held(), 2u);
  EXPECT_LE(throttled.examined() - before, 101u);
  clock.advance(1s);
  throttled.flush_due();
  ASSERT_EQ(sent.size(), 10'002u);
  EXPECT_EQ(viewers_of(sent[10'000]), 2);
  EXPECT_EQ(viewers_of(sent[10'001]), 3);
  EXPECT_EQ(throttled.held(), 0u);
  EXPECT_LE(throttled.examined() - before, 103u);
}

// A clock that can be set back, as two writers reading the clock before they take the lock
// see it.
class SettableClock final : public Clock {
 public:
  TimePoint now() const override { return wall; }
  std::chrono::steady_clock::time_point steady_now() const override { return steady; }
  TimePoint wall = *parse_rfc3339("2026-11-25T01:00:00Z");
  std::chrono::steady_clock::time_point steady{};
};

// min_interval 0: every commit's values are sent at once, whatever the clock says.
TEST_F(LivePublisherTest, AZeroIntervalNeverHoldsAValue) {
  SettableClock settable;
  LivePublisher unthrottled{topics, record(), settable, 0s};
  LivePublishingStore s{inner, unthrottled};
  settable.steady += 2s;
  s.write({sample_item("c", t0 + 1s, 10)});
  settable.steady -= 1s;
  s.write({sample_item("c", t0 + 2s, 20)});
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(viewers_of(sent[1]), 20);
  EXPECT_EQ(unthrottled.held(), 0u);
}

}  // namespace
}  // namespace streamtrack::collector::live
