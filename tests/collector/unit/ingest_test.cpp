#include "collector/ingest/ingest.hpp"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "common/wire/frame.hpp"

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
            (std::vector<std::string>{"st/v1/+/metrics/#", "st/v1/+/frames", "st/v1/+/status",
                                      "st/v1/+/health"}));
  EXPECT_EQ(subscriptions(k_topics, "g"),
            (std::vector<std::string>{"$share/g/st/v1/+/metrics/#", "$share/g/st/v1/+/frames",
                                      "$share/g/st/v1/+/status", "$share/g/st/v1/+/health"}));
}

std::string frame_of(const std::vector<std::string>& elements, const std::string& agent = "rig") {
  std::string out = R"({"frame":1,"agent":")" + agent + R"(","samples":[)";
  for (std::size_t i = 0; i < elements.size(); ++i) out += (i ? "," : "") + elements[i];
  return out + "]}";
}

TEST(ClassifyFrame, EachElementIsASampleItemAsIfSentAlone) {
  const auto topic = k_topics.frames("rig");
  const auto c = classify_message(
      k_topics, topic, frame_of({wire::encode_sample(sample(1)), wire::encode_sample(sample(2))}),
      k_now);
  EXPECT_TRUE(c.frame);
  EXPECT_EQ(c.frame_samples, 2u);
  ASSERT_EQ(c.items.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    const auto& it = c.items[i];
    EXPECT_EQ(it.kind, Item::Kind::sample);
    EXPECT_EQ(it.agent, "rig");
    EXPECT_EQ(it.topic, topic);
    EXPECT_EQ(*it.sample, sample(static_cast<std::int64_t>(i + 1)));
    EXPECT_EQ(wire::decode_sample(it.payload).value(), sample(static_cast<std::int64_t>(i + 1)));
    EXPECT_EQ(it.payload_bytes, it.payload.size());
  }
}

TEST(ClassifyFrame, ABadElementIsRejectedAloneWhileTheOthersLand) {
  auto late = sample(3);
  late.ts = k_now - std::chrono::hours{24 * 365 * 40};
  const auto c = classify_message(
      k_topics, k_topics.frames("rig"),
      frame_of({wire::encode_sample(sample(1)), R"({"seq":2})", wire::encode_sample(late),
                wire::encode_sample(sample(1)), wire::encode_sample([] {
                  auto s = sample(5);
                  s.agent = "other";
                  return s;
                }()),
                wire::encode_sample(sample(6))}),
      k_now);
  ASSERT_EQ(c.items.size(), 6u);
  EXPECT_EQ(c.frame_samples, 6u);
  EXPECT_EQ(c.items[0].kind, Item::Kind::sample);
  EXPECT_EQ(c.items[1].kind, Item::Kind::reject);
  EXPECT_EQ(c.items[1].reason, "missing required field \"schema\"");
  EXPECT_EQ(c.items[1].payload, R"({"seq":2})");
  EXPECT_FALSE(c.items[1].sample);
  // Outside the window: rejected, but the sample stays so that its seq is acknowledged.
  EXPECT_EQ(c.items[2].kind, Item::Kind::reject);
  EXPECT_EQ(c.items[2].reason.rfind("field \"ts\": outside the accepted time window", 0), 0u);
  ASSERT_TRUE(c.items[2].sample);
  EXPECT_EQ(c.items[2].sample->seq, 3);
  EXPECT_EQ(c.items[3].reason, "seq 1 repeats samples[0]");
  EXPECT_FALSE(c.items[3].sample);
  EXPECT_EQ(c.items[4].reason, "agent \"other\" is not the frame's agent \"rig\"");
  EXPECT_FALSE(c.items[4].sample);
  EXPECT_EQ(c.items[5].kind, Item::Kind::sample);
  EXPECT_EQ(c.items[5].sample->seq, 6);
}

TEST(ClassifyFrame, AFrameRefusedWholeIsOneReject) {
  const auto whole = frame_of({wire::encode_sample(sample(1)), wire::encode_sample(sample(2))});
  const auto truncated =
      classify_message(k_topics, k_topics.frames("rig"), whole.substr(0, 100), k_now);
  EXPECT_TRUE(truncated.frame);
  EXPECT_EQ(truncated.frame_samples, 0u);
  ASSERT_EQ(truncated.items.size(), 1u);
  EXPECT_EQ(truncated.items[0].kind, Item::Kind::reject);
  EXPECT_EQ(truncated.items[0].reason.rfind("frame: invalid JSON at byte ", 0), 0u);
  EXPECT_EQ(truncated.items[0].payload, whole.substr(0, 100));

  const auto empty = classify_message(k_topics, k_topics.frames("rig"), frame_of({}), k_now);
  ASSERT_EQ(empty.items.size(), 1u);
  EXPECT_EQ(empty.items[0].reason,
            "frame: field \"samples\": empty (a frame carries at least one sample)");

  const auto foreign = classify_message(k_topics, k_topics.frames("impostor"), whole, k_now);
  ASSERT_EQ(foreign.items.size(), 1u);
  EXPECT_EQ(foreign.items[0].kind, Item::Kind::reject);
  EXPECT_EQ(foreign.items[0].reason,
            "payload agent \"rig\" does not match topic agent \"impostor\"");

  std::string huge = whole;
  huge.insert(huge.size() - 2, std::string(wire::k_max_frame_bytes, ' '));
  const auto large = classify_message(k_topics, k_topics.frames("rig"), huge, k_now);
  ASSERT_EQ(large.items.size(), 1u);
  EXPECT_EQ(large.items[0].reason,
            "frame: payload too large: " + std::to_string(huge.size()) + " bytes (limit 262144)");
  EXPECT_EQ(large.items[0].payload_bytes, huge.size());
  EXPECT_LE(large.items[0].payload.size(), k_max_reject_payload_bytes);
}

TEST(ClassifyFrame, OtherTopicsAreClassifiedAsBefore) {
  const auto c = classify_message(k_topics, k_topics.metrics("rig", "nginx_rtmp", "live/main"),
                                  wire::encode_sample(sample()), k_now);
  EXPECT_FALSE(c.frame);
  ASSERT_EQ(c.items.size(), 1u);
  EXPECT_EQ(c.items[0].kind, Item::Kind::sample);
  EXPECT_TRUE(classify_message(k_topics, k_topics.status("rig"), "", k_now).items.empty());
  // A frame is never read from a metrics topic, nor a sample from a frames topic.
  const auto misplaced =
      classify(k_topics, k_topics.frames("rig"), wire::encode_sample(sample()), k_now);
  ASSERT_TRUE(misplaced);
  EXPECT_EQ(misplaced->kind, Item::Kind::reject);
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

TEST(IngestQueue, PartialBatchIsDueAfterTheDelayWhileAnotherIsBeingWritten) {
  IngestQueue q(100);
  q.push(item(0));
  const auto written = q.take_batch(10, 0ms);  // being written until released
  q.push(item(1));
  const auto start = std::chrono::steady_clock::now();
  const auto batch = q.take_batch(10, 50ms);
  EXPECT_EQ(batch.size(), 1u);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
  q.release(written);
  q.release(batch);
}

// Whether `take` (a take_batch running on its own thread) ends within a generous deadline; the
// queue is closed afterwards, so a take that did not end by itself ends now.
bool ends_by_itself(std::future<std::vector<Item>>& take, IngestQueue& q) {
  const bool ended = take.wait_for(30s) == std::future_status::ready;
  q.close();
  return ended;
}

// Group commit: lingering only adds latency while the database writes nothing.
TEST(IngestQueue, PartialBatchIsDueAtOnceWhenNoBatchIsBeingWritten) {
  IngestQueue q(100);
  q.push(item(1));
  q.push(item(2));
  auto taken = std::async(std::launch::async, [&] { return q.take_batch(10, 1h); });
  EXPECT_TRUE(ends_by_itself(taken, q));
  EXPECT_EQ(taken.get().size(), 2u);
}

TEST(IngestQueue, AWriterWaitingForRowsTakesTheFirstAtOnceWhenNoBatchIsBeingWritten) {
  IngestQueue q(100);
  auto waiting = std::async(std::launch::async, [&] { return q.take_batch(10, 1h); });
  q.push(item(3));
  EXPECT_TRUE(ends_by_itself(waiting, q));
  EXPECT_EQ(waiting.get().size(), 1u);
}

// Without min_delay (take_batch(max_rows, max_delay)).
TEST(IngestQueue, WithoutMinDelayWhatWaitedDuringAWriteIsDueWhenTheWriteEnds) {
  IngestQueue q(100);
  q.push(item(0));
  const auto written = q.take_batch(10, 0ms);
  ASSERT_EQ(written.size(), 1u);
  auto next = std::async(std::launch::async, [&] { return q.take_batch(10, 1h); });
  q.push(item(1));
  q.push(item(2));
  q.release(written);
  EXPECT_TRUE(ends_by_itself(next, q));
  const auto batch = next.get();
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ(batch[0].topic, "1");
}

// [batch] min_delay: while nothing is being written, the first row waits for others to join it.
TEST(IngestQueue, WhileNoBatchIsBeingWrittenAPartialBatchIsDueAfterMinDelay) {
  IngestQueue q(100);
  q.push(item(1));
  const auto start = std::chrono::steady_clock::now();
  const auto batch = q.take_batch(BatchCut{10, 1h, 50ms});
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
  EXPECT_EQ(batch.size(), 1u);
}

TEST(IngestQueue, RowsArrivingDuringMinDelayJoinTheBatch) {
  IngestQueue q(100);
  auto waiting = std::async(std::launch::async, [&] { return q.take_batch(BatchCut{10, 1h, 1h}); });
  // Not due before min_delay (an hour): whenever the take looks, the rows so far are not due,
  // so the batch it ends with (once full) holds every one of them.
  for (int i = 0; i < 10; ++i) q.push(item(i));
  EXPECT_TRUE(ends_by_itself(waiting, q));
  const auto batch = waiting.get();
  ASSERT_EQ(batch.size(), 10u);
  EXPECT_EQ(batch[0].topic, "0");
  EXPECT_EQ(batch[9].topic, "9");
}

// After a write, what arrived during it waits until its first row has waited min_delay (from
// its arrival, not from the end of the write): a short write does not cut the batch short.
TEST(IngestQueue, RowsArrivingDuringAShortWriteWaitForMinDelayAfterIt) {
  IngestQueue q(100);
  q.push(item(0));
  const auto written = q.take_batch(BatchCut{10, 1h, 0ms});
  ASSERT_EQ(written.size(), 1u);
  auto next = std::async(std::launch::async, [&] { return q.take_batch(BatchCut{10, 1h, 1h}); });
  q.push(item(1));
  q.push(item(2));
  q.release(written);
  // Were the rows due when the write ended, the take would end with 2 of them; it waits for
  // the full batch (max_rows), which is due at once.
  for (int i = 3; i <= 10; ++i) q.push(item(i));
  EXPECT_TRUE(ends_by_itself(next, q));
  const auto batch = next.get();
  ASSERT_EQ(batch.size(), 10u);
  EXPECT_EQ(batch[0].topic, "1");
  EXPECT_EQ(batch[9].topic, "10");
}

TEST(IngestQueue, RowsArrivingDuringAShortWriteAreDueMinDelayAfterTheirFirstRow) {
  IngestQueue q(100);
  q.push(item(0));
  const auto written = q.take_batch(BatchCut{10, 1h, 0ms});
  const auto first = std::chrono::steady_clock::now();
  q.push(item(1));
  q.release(written);
  auto next = std::async(std::launch::async, [&] { return q.take_batch(BatchCut{10, 1h, 50ms}); });
  EXPECT_TRUE(ends_by_itself(next, q));  // min_delay, not max_delay (an hour)
  EXPECT_GE(std::chrono::steady_clock::now() - first, 50ms);
  EXPECT_EQ(next.get().size(), 1u);
}

// A queue that refuses pushes (full by rows or by bytes) is due at once: waiting for min_delay
// would only refuse more messages while the database writes nothing.
TEST(IngestQueue, AQueueFullByBytesIsDueAtOnce) {
  Item big;
  big.payload.assign(400 * 1024, 'x');
  IngestQueue q(100, 1024 * 1024);
  EXPECT_TRUE(q.push(big));
  EXPECT_TRUE(q.push(big));
  EXPECT_FALSE(q.push(big));  // past 1 MiB
  auto taken = std::async(std::launch::async, [&] { return q.take_batch(BatchCut{5000, 1h, 1h}); });
  EXPECT_TRUE(ends_by_itself(taken, q));
  EXPECT_EQ(taken.get().size(), 2u);
}

TEST(IngestQueue, AQueueFullByRowsIsDueAtOnce) {
  IngestQueue q(3);
  auto taken = std::async(std::launch::async, [&] { return q.take_batch(BatchCut{5000, 1h, 1h}); });
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(q.push(item(i)));
  EXPECT_TRUE(ends_by_itself(taken, q));
  EXPECT_EQ(taken.get().size(), 3u);
}

// While a batch is being written as well: the rows left are due for another writer at once.
TEST(IngestQueue, AQueueFullWhileABatchIsBeingWrittenIsDueAtOnce) {
  IngestQueue q(4);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(q.push(item(i)));
  const auto written = q.take_batch(BatchCut{2, 1h, 1h});
  ASSERT_EQ(written.size(), 2u);
  EXPECT_FALSE(q.push(item(4)));
  auto taken = std::async(std::launch::async, [&] { return q.take_batch(BatchCut{5000, 1h, 1h}); });
  EXPECT_TRUE(ends_by_itself(taken, q));
  EXPECT_EQ(taken.get().size(), 2u);
  q.release(written);
}

// No delay overflows the clock (saturating_add, Duration.SaturatingAddNeverOverflowsTheClock):
// a delay too long for it never expires, and a full batch still ends the wait.
TEST(IngestQueue, HugeDelaysNeverExpire) {
  IngestQueue q(100);
  q.push(item(0));
  const auto written = q.take_batch(BatchCut{10, 1h, 0ms});
  // Converts into the clock's nanoseconds, but overflows when added to a time point.
  const auto max_delay = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::duration::max());
  const auto min_delay = std::chrono::milliseconds::max();  // does not even convert
  q.push(item(1));
  auto next = std::async(std::launch::async, [&] {
    return q.take_batch(BatchCut{3, max_delay, min_delay});
  });
  q.release(written);
  q.push(item(2));
  q.push(item(3));  // a full batch
  EXPECT_TRUE(ends_by_itself(next, q));
  EXPECT_EQ(next.get().size(), 3u);
}

TEST(IngestQueue, AFullBatchAndMaxDelayEndMinDelay) {
  IngestQueue q(100);
  for (int i = 0; i < 3; ++i) q.push(item(i));
  auto full = std::async(std::launch::async, [&] { return q.take_batch(BatchCut{3, 1h, 1h}); });
  EXPECT_TRUE(ends_by_itself(full, q));
  EXPECT_EQ(full.get().size(), 3u);
  IngestQueue capped(100);
  capped.push(item(4));
  // min_delay beyond max_delay: max_delay wins.
  auto bounded = std::async(std::launch::async, [&] {
    return capped.take_batch(BatchCut{10, 20ms, 1h});
  });
  EXPECT_TRUE(ends_by_itself(bounded, capped));
  EXPECT_EQ(bounded.get().size(), 1u);
}

// A frame's items enter the queue together: a writer never takes the first of them alone.
TEST(IngestQueue, PushAllQueuesWhatFitsInOrderAndCountsTheRestDropped) {
  IngestQueue q(3);
  std::vector<Item> items{item(0), item(1), item(2), item(3), item(4)};
  EXPECT_EQ(q.push_all(std::move(items)), 3u);
  EXPECT_EQ(q.dropped(), 2u);
  const auto batch = q.take_batch(10, 1h);
  ASSERT_EQ(batch.size(), 3u);
  EXPECT_EQ(batch[2].topic, "2");
  q.release(batch);
  q.close();
  EXPECT_EQ(q.push_all({item(5)}), 0u);
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
  std::thread t([&] { got = q.take_batch(BatchCut{5, 1h}, seen); });
  q.interrupt();
  t.join();
  EXPECT_TRUE(got.empty());
  EXPECT_FALSE(q.closed());
  // Interrupted before the call: returns at once, queued items stay for the next take.
  q.push(item(1));
  EXPECT_TRUE(q.take_batch(BatchCut{5, 1h}, seen).empty());
  EXPECT_EQ(q.pending(), 1u);
  q.close();
  EXPECT_EQ(q.take_batch(BatchCut{5, 1h}, q.interruptions()).size(), 1u);
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
