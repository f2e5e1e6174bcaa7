// The parts CollectorDaemon composes, each alone: the intake on Paho's thread, the readiness
// of the database, and the worker thread's stop.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "collector/daemon/database_health.hpp"
#include "collector/daemon/intake.hpp"
#include "collector/daemon/worker_thread.hpp"
#include "common/wire/codec.hpp"
#include "common/wire/frame.hpp"
#include "tests/collector/daemon/metric_value.hpp"

namespace streamtrack::collector::daemon {
namespace {

using namespace std::chrono_literals;

const TimePoint k_now = *parse_rfc3339("2026-01-01T00:00:00Z");

Sample sample(std::int64_t seq) {
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

class IntakeTest : public ::testing::Test {
 protected:
  const wire::Topics m_topics{"st/v1"};
  const ingest::TimeWindow m_window{};
  ManualClock m_clock{k_now};
  status::CollectorMetrics m_metrics;
};

TEST_F(IntakeTest, SamplesAndRejectsAreQueuedAndAFullQueueRefusesWithoutBlocking) {
  ingest::IngestQueue queue(2);
  Intake intake(m_topics, m_window, m_clock, queue, m_metrics, nullptr, nullptr);
  const auto topic = m_topics.metrics("rig", "nginx_rtmp", "live/main");
  intake.on_message({topic, wire::encode_sample(sample(1)), 1, false});
  intake.on_message({topic, "{not json", 1, false});
  intake.on_message({topic, wire::encode_sample(sample(3)), 1, false});  // no room: dropped
  EXPECT_EQ(queue.pending(), 2u);
  EXPECT_EQ(queue.dropped(), 1u);
  const auto batch = queue.take_batch(10, 0ms);
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ(batch[0].kind, ingest::Item::Kind::sample);
  EXPECT_EQ(batch[1].kind, ingest::Item::Kind::reject);
}

TEST_F(IntakeTest, AFrameIsCountedAndEachOfItsSamplesQueued) {
  ingest::IngestQueue queue(100);
  Intake intake(m_topics, m_window, m_clock, queue, m_metrics, nullptr, nullptr);
  wire::FrameBuilder frame("rig");
  for (std::int64_t seq = 1; seq <= 3; ++seq)
    ASSERT_TRUE(frame.add(wire::encode_sample(sample(seq))));
  intake.on_message({m_topics.frames("rig"), frame.finish(), 1, false});
  EXPECT_EQ(queue.pending(), 3u);
  EXPECT_EQ(metric_value(m_metrics, "streamtrack_collector_frames_total"), 1);
  EXPECT_EQ(metric_value(m_metrics, "streamtrack_collector_frame_samples_total"), 3);
}

TEST_F(IntakeTest, DiscoveryConfigsGoToDiscoveryAndNeverBecomeRejects) {
  ingest::IngestQueue queue(100);
  const homeassistant::Options options{"homeassistant", 1h};
  homeassistant::Discovery discovery(m_topics, options);
  Intake intake(m_topics, m_window, m_clock, queue, m_metrics, nullptr, &discovery);
  for (const auto& m : homeassistant::channel_configs(m_topics, options, "twitch", "gone")) {
    intake.on_message({m.topic, m.payload, 1, true});
  }
  EXPECT_EQ(queue.pending(), 0u) << "a discovery config was queued";
  // Known to Discovery: removed once forgotten (never committed since).
  m_clock.advance(61min);
  EXPECT_FALSE(discovery.take(m_clock.now()).empty());
  // Agent status still reaches ingest too.
  intake.on_message({m_topics.status("rig"), wire::encode_status({.state = "online"}), 1, true});
  EXPECT_EQ(queue.pending(), 1u);
}

TEST(DatabaseHealth, ReportsTheFirstProblemAndTheGaugeAgrees) {
  status::CollectorMetrics metrics;
  DatabaseHealth health(metrics);
  EXPECT_EQ(health.check().detail, "unreachable: not connected yet");
  health.set_reachable(true);
  EXPECT_EQ(health.check().detail, "schema not applied yet");
  EXPECT_EQ(metric_value(metrics, "streamtrack_collector_postgres_up"), 0);
  health.set_schema_ready();
  EXPECT_TRUE(health.up());
  EXPECT_EQ(metric_value(metrics, "streamtrack_collector_postgres_up"), 1);
  health.writer_outcome(3, "SQLSTATE 57P01");
  EXPECT_EQ(health.check().detail, "writes failing: SQLSTATE 57P01");
  EXPECT_EQ(metric_value(metrics, "streamtrack_collector_postgres_up"), 0);
  health.writer_outcome(3, "");
  health.set_reachable(false, "connection refused");
  EXPECT_EQ(health.check().detail, "unreachable: connection refused");
  EXPECT_EQ(metric_value(metrics, "streamtrack_collector_postgres_up"), 0);
}

TEST(WorkerThread, StopWakesASleepingBody) {
  WorkerThread thread;
  std::atomic<bool> woke{false};
  thread.start([&] {
    while (!thread.wakeup().wait_for(1h)) {
    }
    woke = true;
  });
  thread.stop();
  EXPECT_TRUE(woke);
  thread.stop();  // idempotent
}

TEST(WorkerThread, StopNudgesABodyTheWakeupCannotReachUntilItReturns) {
  WorkerThread thread;
  std::atomic<int> nudges{0};
  std::atomic<bool> started{false};
  thread.start([&] {
    started = true;
    // Blocked in "a statement" that ends only when cancelled, twice (a cancel can come just
    // before the next statement).
    for (int statement = 0; statement < 2; ++statement) {
      const int seen = nudges.load();
      while (nudges.load() == seen) std::this_thread::yield();
    }
  });
  while (!started) std::this_thread::yield();
  thread.stop([&] { ++nudges; });
  EXPECT_GE(nudges.load(), 2);
}

}  // namespace
}  // namespace streamtrack::collector::daemon
