#include "collector/ingest/ingest.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace streamtrack::collector::ingest {
namespace {

using namespace std::chrono_literals;

const wire::Topics k_topics("st/v1");
const TimePoint k_now = *parse_rfc3339("2026-01-01T00:00:00Z");

Sample sample(std::int64_t seq = 1) {
  Sample s;
  s.agent = "rig";
  s.seq = seq;
  s.ts = k_now;
  s.platform = "nginx_rtmp";
  s.channel = "live/main";
  s.live = true;
  s.viewers = 3;
  return s;
}

TEST(Classify, ValidSample) {
  const auto item = classify(k_topics, k_topics.metrics("rig", "nginx_rtmp", "live/main"),
                             wire::encode_sample(sample()), k_now);
  ASSERT_TRUE(item);
  EXPECT_EQ(item->kind, Item::Kind::sample);
  EXPECT_EQ(item->agent, "rig");
  EXPECT_EQ(*item->sample, sample());
}

TEST(Classify, MalformedPayloadIsRejectedWithTheCodecReason) {
  const auto item =
      classify(k_topics, k_topics.metrics("rig", "nginx_rtmp", "live/main"), "{x", k_now);
  ASSERT_TRUE(item);
  EXPECT_EQ(item->kind, Item::Kind::reject);
  EXPECT_EQ(item->reason, wire::decode_sample("{x").error());
  EXPECT_EQ(item->payload, "{x");
}

TEST(Classify, AgentMismatchBetweenTopicAndPayloadIsRejected) {
  const auto item = classify(k_topics, k_topics.metrics("other", "nginx_rtmp", "live/main"),
                             wire::encode_sample(sample()), k_now);
  ASSERT_TRUE(item);
  EXPECT_EQ(item->kind, Item::Kind::reject);
  EXPECT_EQ(item->reason, "payload agent \"rig\" does not match topic agent \"other\"");
}

TEST(Classify, ChannelMismatchIsRejected) {
  const auto item = classify(k_topics, k_topics.metrics("rig", "nginx_rtmp", "live/other"),
                             wire::encode_sample(sample()), k_now);
  ASSERT_TRUE(item);
  EXPECT_EQ(item->reason,
            "payload platform/channel \"nginx_rtmp/live/main\" does not match topic "
            "\"nginx_rtmp/live/other\"");
}

TEST(Classify, StatusHealthAndClearedRetainedStatus) {
  const auto status = classify(k_topics, k_topics.status("rig"), R"({"state":"offline"})", k_now);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->kind, Item::Kind::status);
  EXPECT_EQ(status->status->state, "offline");
  EXPECT_FALSE(classify(k_topics, k_topics.status("rig"), "", k_now));
  wire::Health h;
  h.ts = k_now;
  const auto health = classify(k_topics, k_topics.health("rig"), wire::encode_health(h), k_now);
  ASSERT_TRUE(health);
  EXPECT_EQ(health->kind, Item::Kind::health);
  const auto bad = classify(k_topics, k_topics.health("rig"), "[]", k_now);
  EXPECT_EQ(bad->kind, Item::Kind::reject);
}

TEST(Classify, ForeignTopicIsRejected) {
  const auto item = classify(k_topics, "st/v1/rig/unknown", "{}", k_now);
  ASSERT_TRUE(item);
  EXPECT_EQ(item->kind, Item::Kind::reject);
  EXPECT_EQ(item->reason, "not a StreamTrack topic");
}

TEST(Subscriptions, SharedGroupPrefixesEveryFilter) {
  EXPECT_EQ(subscriptions(k_topics, ""),
            (std::vector<std::string>{"st/v1/+/metrics/#", "st/v1/+/status", "st/v1/+/health"}));
  EXPECT_EQ(subscriptions(k_topics, "g"),
            (std::vector<std::string>{"$share/g/st/v1/+/metrics/#", "$share/g/st/v1/+/status",
                                      "$share/g/st/v1/+/health"}));
}

Item item(int n) {
  Item i;
  i.topic = std::to_string(n);
  return i;
}

TEST(IngestQueue, FullBatchIsDueAtOnce) {
  IngestQueue q(100);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(q.push(item(i)));
  const auto batch = q.take_batch(3, 1h);
  ASSERT_EQ(batch.size(), 3u);
  EXPECT_EQ(batch[0].topic, "0");
  EXPECT_EQ(q.pending(), 5u);
  q.release(3);
  EXPECT_EQ(q.pending(), 2u);
}

TEST(IngestQueue, PartialBatchIsDueAfterTheDelay) {
  IngestQueue q(100);
  q.push(item(1));
  const auto start = std::chrono::steady_clock::now();
  const auto batch = q.take_batch(10, 50ms);
  EXPECT_EQ(batch.size(), 1u);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
}

TEST(IngestQueue, RefusesBeyondMaxPendingUntilReleased) {
  IngestQueue q(2);
  EXPECT_TRUE(q.push(item(1)));
  EXPECT_TRUE(q.push(item(2)));
  EXPECT_FALSE(q.push(item(3)));
  EXPECT_EQ(q.dropped(), 1u);
  const auto batch = q.take_batch(2, 1h);
  EXPECT_FALSE(q.push(item(4)));  // taken but not yet written still counts
  q.release(batch.size());
  EXPECT_TRUE(q.push(item(5)));
}

TEST(IngestQueue, CloseWakesWaitersAndDrains) {
  IngestQueue q(10);
  q.push(item(1));
  std::vector<Item> got;
  std::thread t([&] { got = q.take_batch(5, 1h); });
  q.close();
  t.join();
  EXPECT_EQ(got.size(), 1u);
  EXPECT_TRUE(q.take_batch(5, 1h).empty());
  EXPECT_FALSE(q.push(item(2)));
}

}  // namespace
}  // namespace streamtrack::collector::ingest
