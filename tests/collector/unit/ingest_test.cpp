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

TEST(Classify, NamesWithNulAreRejected) {
  auto s = sample();
  s.channel = std::string("live/main\0hidden", 16);
  const auto payload = wire::encode_sample(s);
  const auto item =
      classify(k_topics, k_topics.metrics("rig", "nginx_rtmp", "live/main"), payload, k_now);
  ASSERT_TRUE(item);
  EXPECT_EQ(item->kind, Item::Kind::reject);
  EXPECT_EQ(item->reason, "field \"channel\": contains a NUL character");
  auto t = sample();
  t.title = std::string("a\0b", 3);
  EXPECT_EQ(wire::decode_sample(wire::encode_sample(t)).error(),
            "field \"title\": contains a NUL character");
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
  q.release(batch);
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
  q.release(batch);
  EXPECT_TRUE(q.push(item(5)));
}

TEST(IngestQueue, BoundedByBytesButAlwaysTakesOneItem) {
  Item big;
  big.payload.assign(10'000, 'x');
  const auto one = IngestQueue::footprint(big);
  IngestQueue q(1000, 2 * one + 10);
  EXPECT_TRUE(q.push(big));
  EXPECT_TRUE(q.push(big));
  EXPECT_FALSE(q.push(big));
  EXPECT_EQ(q.pending_bytes(), 2 * one);
  const auto batch = q.take_batch(2, 1h);
  q.release(batch);
  EXPECT_EQ(q.pending_bytes(), 0u);
  // An item larger than the whole budget still passes into an empty queue.
  IngestQueue tiny(1000, 10);
  EXPECT_TRUE(tiny.push(big));
  EXPECT_FALSE(tiny.push(big));
}

TEST(Classify, AnOversizedPayloadIsRejectedTruncatedWithItsSize) {
  const std::string huge(10 * 1024 * 1024, '{');
  const auto item =
      classify(k_topics, k_topics.metrics("rig", "nginx_rtmp", "live/main"), huge, k_now);
  ASSERT_TRUE(item);
  EXPECT_EQ(item->kind, Item::Kind::reject);
  EXPECT_EQ(item->payload_bytes, huge.size());
  EXPECT_EQ(item->payload.size(), k_max_reject_payload_bytes);
  EXPECT_LE(IngestQueue::footprint(*item), k_max_reject_payload_bytes + 4096);
}

TEST(Classify, SamplesOutsideTheTimeWindowAreRejected) {
  TimeWindow window;
  window.max_future = 1h;
  window.retention_months = 3;
  const auto now = *parse_rfc3339("2030-06-15T12:00:00Z");
  EXPECT_EQ(window.earliest(now), *parse_rfc3339("2030-03-01T00:00:00Z"));
  const auto at = [&](const char* ts) {
    auto s = sample();
    s.ts = *parse_rfc3339(ts);
    return classify(k_topics, k_topics.metrics("rig", "nginx_rtmp", "live/main"),
                    wire::encode_sample(s), now, window);
  };
  EXPECT_EQ(at("2030-03-01T00:00:00Z")->kind, Item::Kind::sample);
  EXPECT_EQ(at("2030-06-15T13:00:00Z")->kind, Item::Kind::sample);
  EXPECT_EQ(at("2030-02-28T23:59:59.999Z")->reason,
            "field \"ts\": outside the accepted time window (before 2030-03-01T00:00:00.000Z)");
  EXPECT_EQ(at("2030-06-15T13:00:00.001Z")->reason,
            "field \"ts\": outside the accepted time window (more than 3600000 ms ahead of the "
            "collector's clock)");
  EXPECT_EQ(at("9999-12-31T23:59:59-14:00")->kind, Item::Kind::reject);
  EXPECT_EQ(at("0000-01-01T00:00:00+14:00")->kind, Item::Kind::reject);
  EXPECT_EQ(TimeWindow{}.earliest(now), *parse_rfc3339("2000-01-01T00:00:00Z"));
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

TEST(IngestQueue, InterruptEndsAWaitSinceTheGivenCountWithAnEmptyBatch) {
  IngestQueue q(10);
  const auto seen = q.interruptions();
  std::vector<Item> got{item(0)};
  std::thread t([&] { got = q.take_batch(5, 1h, seen); });
  q.interrupt();
  t.join();
  EXPECT_TRUE(got.empty());
  EXPECT_FALSE(q.closed());
  // Interrupted before the call: returns at once, queued items stay for the next take.
  q.push(item(1));
  EXPECT_TRUE(q.take_batch(5, 1h, seen).empty());
  EXPECT_EQ(q.pending(), 1u);
  q.close();
  EXPECT_EQ(q.take_batch(5, 1h, q.interruptions()).size(), 1u);
}

TEST(IngestQueue, NewLimitsRefuseFurtherItemsAndKeepTheQueuedOnes) {
  IngestQueue q(10);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(q.push(item(i)));
  q.set_limits(2, SIZE_MAX);
  EXPECT_FALSE(q.push(item(3)));
  const auto batch = q.take_batch(5, 0ms);
  EXPECT_EQ(batch.size(), 3u);
  q.release(batch);
  EXPECT_TRUE(q.push(item(4)));
  EXPECT_TRUE(q.push(item(5)));
  EXPECT_FALSE(q.push(item(6)));
  q.set_limits(10, 1);  // one item always fits into an empty queue, no second one
  q.release(q.take_batch(5, 0ms));
  EXPECT_TRUE(q.push(item(7)));
  EXPECT_FALSE(q.push(item(8)));
}

}  // namespace
}  // namespace streamtrack::collector::ingest
