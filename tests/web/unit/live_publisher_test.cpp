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

}  // namespace
}  // namespace streamtrack::collector::live
