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
  LivePublisher publisher{topics,
                          [this](const std::string& t, const std::string& p, bool r) {
                            sent.push_back({t, p, r});
                            return true;
                          },
                          clock};
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
  LivePublisher throttled{topics,
                          [this](const std::string& t, const std::string& p, bool r) {
                            sent.push_back({t, p, r});
                            return true;
                          },
                          clock, 1s};
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
  LivePublisher throttled{topics,
                          [this](const std::string& t, const std::string& p, bool r) {
                            sent.push_back({t, p, r});
                            return true;
                          },
                          clock, 1s};
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

}  // namespace
}  // namespace streamtrack::collector::live
