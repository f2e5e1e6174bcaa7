#include "web/live/hub.hpp"

#include <gtest/gtest.h>

#include "web/live/listener.hpp"

namespace streamtrack::web::live {
namespace {

class RecordingSink final : public EventSink {
 public:
  void send(std::shared_ptr<const std::string> frame) override { frames.push_back(*frame); }
  std::vector<std::string> frames;
};

TEST(Hub, FansOutToOverviewAndMatchingChannelOnly) {
  Hub hub(100, 1000);
  auto overview = std::make_shared<RecordingSink>();
  auto seven = std::make_shared<RecordingSink>();
  hub.subscribe(overview, std::nullopt, std::nullopt);
  hub.subscribe(seven, 7, std::nullopt);
  EXPECT_EQ(hub.publish("sample", 7, R"({"channel_id":7})"), 1000u);
  EXPECT_EQ(hub.publish("sample", 8, R"({"channel_id":8})"), 1001u);
  EXPECT_EQ(hub.publish("stats", 0, R"({"viewers_now":1})"), 1002u);
  ASSERT_EQ(overview->frames.size(), 3u);
  EXPECT_EQ(overview->frames[0], "id: 1000\nevent: sample\ndata: {\"channel_id\":7}\n\n");
  ASSERT_EQ(seven->frames.size(), 1u);
  hub.publish("resync", -1, "{}");
  EXPECT_EQ(seven->frames.size(), 2u);
  hub.keepalive();
  EXPECT_EQ(overview->frames.back(), ": keepalive\n\n");
}

TEST(Hub, ReplaysAfterLastEventIdAndAsksForResyncWhenTheRingIsTooShort) {
  Hub hub(3, 1);
  for (int i = 0; i < 5; ++i) hub.publish("sample", 1, std::to_string(i));  // ids 1..5
  auto resumed = std::make_shared<RecordingSink>();
  hub.subscribe(resumed, std::nullopt, 3);
  ASSERT_EQ(resumed->frames.size(), 2u);
  EXPECT_TRUE(resumed->frames[0].starts_with("id: 4\n"));
  EXPECT_TRUE(resumed->frames[1].starts_with("id: 5\n"));
  auto too_old = std::make_shared<RecordingSink>();
  hub.subscribe(too_old, std::nullopt, 1);  // 2 is gone from the ring
  ASSERT_EQ(too_old->frames.size(), 1u);
  EXPECT_TRUE(too_old->frames[0].starts_with("event: resync\n"));
  auto future = std::make_shared<RecordingSink>();
  hub.subscribe(future, std::nullopt, 99);  // another daemon's id
  EXPECT_TRUE(future->frames.at(0).starts_with("event: resync\n"));
  auto current = std::make_shared<RecordingSink>();
  hub.subscribe(current, std::nullopt, 5);
  EXPECT_TRUE(current->frames.empty());
}

TEST(Hub, AReplayLargerThanTheBudgetBecomesAResync) {
  // A client that fell far behind would be disconnected by its own replay (client_buffer)
  // and come back with the same Last-Event-ID forever: it is told to reload instead.
  Hub hub(1000, 1, 1000);
  for (int i = 0; i < 100; ++i) hub.publish("sample", 1, std::string(50, 'x'));
  auto far_behind = std::make_shared<RecordingSink>();
  hub.subscribe(far_behind, std::nullopt, 1);
  ASSERT_EQ(far_behind->frames.size(), 1u);
  EXPECT_TRUE(far_behind->frames[0].starts_with("event: resync\n"));
  auto close_behind = std::make_shared<RecordingSink>();
  hub.subscribe(close_behind, std::nullopt, 95);
  EXPECT_EQ(close_behind->frames.size(), 5u);
}

TEST(Hub, UnsubscribedSinksGetNothingMore) {
  Hub hub(10, 1);
  auto sink = std::make_shared<RecordingSink>();
  const auto id = hub.subscribe(sink, std::nullopt, std::nullopt);
  EXPECT_EQ(hub.subscribers(), 1u);
  hub.unsubscribe(id);
  hub.publish("sample", 1, "{}");
  EXPECT_TRUE(sink->frames.empty());
  EXPECT_EQ(hub.subscribers(), 0u);
}

TEST(DecodeAnnouncements, ReadsTheTriggerPayloadAndSkipsJunk) {
  const auto items = decode_announcements(
      R"([{"c":3,"s":9,"t":"2026-11-25T01:00:00.000Z","v":12,"m":4,"r":24.0,"b":2500.5,"a":true},
          {"c":"x"},{"t":"no channel"},5,
          {"c":4,"s":10,"t":"2026-11-25T01:00:01.000Z","v":null,"m":null,"r":null,"b":null,"a":false}])");
  ASSERT_TRUE(items.has_value());
  ASSERT_EQ(items->size(), 2u);
  EXPECT_EQ((*items)[0].channel_id, 3);
  EXPECT_EQ((*items)[0].viewers, 12);
  EXPECT_EQ((*items)[0].bitrate_kbps, 2500.5);
  EXPECT_TRUE((*items)[0].live);
  EXPECT_FALSE((*items)[1].viewers.has_value());
  EXPECT_FALSE((*items)[1].live);
  EXPECT_FALSE(decode_announcements("{}").has_value());
  EXPECT_FALSE(decode_announcements("not json").has_value());
  EXPECT_FALSE(decode_announcements(std::string(10000, '[')).has_value());
}

}  // namespace
}  // namespace streamtrack::web::live
