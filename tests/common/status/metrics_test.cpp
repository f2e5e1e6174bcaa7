#include "common/status/metrics.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "common/version.hpp"

namespace streamtrack::status {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

TEST(Metrics, EveryDaemonExportsBuildInfoAndMqttState) {
  AgentMetrics metrics;
  const auto before = metrics.render();
  EXPECT_THAT(before, HasSubstr("streamtrack_build_info{daemon=\"streamtrack-agent\",version=\"" +
                                std::string(k_version) + "\"} 1\n"));
  EXPECT_THAT(before, HasSubstr("# TYPE streamtrack_mqtt_connected gauge\n"));
  EXPECT_THAT(before, HasSubstr("streamtrack_mqtt_connected 0\n"));
  metrics.set_mqtt_connected(true);
  metrics.count_mqtt_connect();
  metrics.count_mqtt_connect();
  const auto after = metrics.render();
  EXPECT_THAT(after, HasSubstr("streamtrack_mqtt_connected 1\n"));
  EXPECT_THAT(after, HasSubstr("streamtrack_mqtt_connects_total 2\n"));
}

TEST(AgentMetrics, CountsPollsBySourceAndOutcomeWithDurations) {
  AgentMetrics metrics;
  EXPECT_FALSE(metrics.last_successful_poll_age());
  metrics.poll_finished("rig", "nginx_rtmp", Outcome::ok, 0.03s, 3);
  metrics.poll_finished("rig", "nginx_rtmp", Outcome::ok, 0.2s, 2);
  metrics.poll_finished("rig", "nginx_rtmp", Outcome::retry, 12s, 0);
  metrics.poll_finished("radio", "icecast", Outcome::error, 0.001s, 0);
  const auto text = metrics.render();
  EXPECT_THAT(text, HasSubstr("# TYPE streamtrack_agent_polls_total counter\n"));
  EXPECT_THAT(
      text,
      HasSubstr(
          "streamtrack_agent_polls_total{outcome=\"ok\",source=\"rig\",type=\"nginx_rtmp\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("streamtrack_agent_polls_total{outcome=\"retry\",source=\"rig\",type="
                              "\"nginx_rtmp\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("streamtrack_agent_polls_total{outcome=\"error\",source=\"radio\","
                              "type=\"icecast\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE streamtrack_agent_poll_duration_seconds histogram\n"));
  EXPECT_THAT(text, HasSubstr("streamtrack_agent_poll_duration_seconds_count{source=\"rig\"} 3\n"));
  EXPECT_THAT(
      text,
      HasSubstr("streamtrack_agent_poll_duration_seconds_bucket{source=\"rig\",le=\"0.05\"} 1\n"));
  EXPECT_THAT(
      text,
      HasSubstr("streamtrack_agent_poll_duration_seconds_bucket{source=\"rig\",le=\"10\"} 2\n"));
  EXPECT_THAT(
      text,
      HasSubstr("streamtrack_agent_poll_duration_seconds_bucket{source=\"rig\",le=\"+Inf\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("streamtrack_agent_samples_total{source=\"rig\"} 5\n"));
  // Only successful polls count as samples and as "last success".
  EXPECT_THAT(text, Not(HasSubstr("streamtrack_agent_samples_total{source=\"radio\"}")));
  EXPECT_THAT(
      text, HasSubstr("streamtrack_agent_last_successful_poll_timestamp_seconds{source=\"rig\"} "));
  EXPECT_THAT(
      text,
      Not(HasSubstr("streamtrack_agent_last_successful_poll_timestamp_seconds{source=\"radio\"}")));
  const auto age = metrics.last_successful_poll_age();
  ASSERT_TRUE(age);
  EXPECT_GE(age->count(), 0.0);
  EXPECT_LT(age->count(), 60.0);
}

TEST(AgentMetrics, OutboxAndPublishFigures) {
  AgentMetrics metrics;
  EXPECT_THAT(metrics.render(), HasSubstr("streamtrack_agent_acks_total{kind=\"committed\"} 0\n"));
  metrics.set_outbox(1200, 345678);
  metrics.count_outbox_drops("drop_oldest", 7);
  metrics.set_publish_inflight(42);
  metrics.count_published(100);
  metrics.count_acks("puback", 90);
  metrics.count_acks("committed", 80);
  metrics.count_publish_failures(3);
  const auto text = metrics.render();
  EXPECT_THAT(text, HasSubstr("streamtrack_agent_outbox_depth_rows 1200\n"));
  EXPECT_THAT(text, HasSubstr("streamtrack_agent_outbox_depth_bytes 345678\n"));
  EXPECT_THAT(text, HasSubstr("streamtrack_agent_outbox_drops_total{policy=\"drop_oldest\"} 7\n"));
  EXPECT_THAT(text, HasSubstr("streamtrack_agent_publish_inflight 42\n"));
  EXPECT_THAT(text, HasSubstr("streamtrack_agent_published_total 100\n"));
  EXPECT_THAT(text, HasSubstr("streamtrack_agent_acks_total{kind=\"puback\"} 90\n"));
  EXPECT_THAT(text, HasSubstr("streamtrack_agent_acks_total{kind=\"committed\"} 80\n"));
  EXPECT_THAT(text, HasSubstr("streamtrack_agent_publish_failures_total 3\n"));
  metrics.set_outbox(0, 0);
  EXPECT_THAT(metrics.render(), HasSubstr("streamtrack_agent_outbox_depth_rows 0\n"));
}

TEST(CollectorMetrics, AlertTransitionSeriesExistAtZeroForEveryDeclaredRule) {
  CollectorMetrics metrics;
  metrics.declare_alert_rules({"stream-offline", "agent-offline"});
  const auto text = metrics.render();
  for (const char* rule : {"stream-offline", "agent-offline"}) {
    for (const char* state : {"pending", "firing", "resolved"}) {
      EXPECT_THAT(text,
                  HasSubstr(std::string("streamtrack_collector_alert_transitions_total{rule=\"") +
                            rule + "\",state=\"" + state + "\"} 0\n"));
    }
  }
}

TEST(CollectorMetrics, IngestBatchesPoolAndAlerts) {
  CollectorMetrics metrics;
  const auto empty = metrics.render();
  EXPECT_THAT(empty, HasSubstr("streamtrack_build_info{daemon=\"streamtrack-collector\""));
  EXPECT_THAT(empty, HasSubstr("streamtrack_collector_alerts{state=\"firing\"} 0\n"));
  EXPECT_THAT(empty, HasSubstr("streamtrack_collector_postgres_connections{state=\"idle\"} 0\n"));
  EXPECT_THAT(empty, HasSubstr("streamtrack_collector_frames_total 0\n"));
  EXPECT_THAT(empty, Not(HasSubstr("streamtrack_agent_")));

  metrics.count_ingest_rows(5000);
  metrics.count_ingest_rejects("decode", 2);
  metrics.batch_written(5000, 0.04s, Outcome::ok);
  metrics.batch_written(7, 0.002s, Outcome::retry);
  metrics.set_pending_rows(17);
  metrics.count_acks_sent(4);
  metrics.count_frame(3);
  metrics.count_frame(0);  // refused whole
  metrics.set_pool(1, 1, 0);
  metrics.set_database_up(true);
  metrics.set_alerts("firing", 2);
  metrics.count_alert_transition("stream-offline", "firing");
  const auto text = metrics.render();
  EXPECT_THAT(text, HasSubstr("streamtrack_collector_ingest_rows_total 5000\n"));
  EXPECT_THAT(text, HasSubstr("streamtrack_collector_ingest_rejects_total{reason=\"decode\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("streamtrack_collector_batches_total{outcome=\"ok\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("streamtrack_collector_batches_total{outcome=\"retry\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("streamtrack_collector_batch_rows_count 2\n"));
  EXPECT_THAT(text, HasSubstr("streamtrack_collector_batch_rows_bucket{le=\"10\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("streamtrack_collector_batch_rows_bucket{le=\"5000\"} 2\n"));
  EXPECT_THAT(text,
              HasSubstr("streamtrack_collector_batch_write_seconds_bucket{le=\"0.005\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("streamtrack_collector_batch_write_seconds_bucket{le=\"0.05\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("streamtrack_collector_pending_rows 17\n"));
  EXPECT_THAT(text, HasSubstr("streamtrack_collector_acks_sent_total 4\n"));
  EXPECT_THAT(text, HasSubstr("streamtrack_collector_frames_total 2\n"));
  EXPECT_THAT(text, HasSubstr("streamtrack_collector_frame_samples_total 3\n"));
  EXPECT_THAT(text, HasSubstr("streamtrack_collector_postgres_connections{state=\"busy\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("streamtrack_collector_postgres_up 1\n"));
  EXPECT_THAT(text, HasSubstr("streamtrack_collector_alerts{state=\"firing\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("streamtrack_collector_alert_transitions_total{rule=\"stream-"
                              "offline\",state=\"firing\"} 1\n"));
}

TEST(AgentMetrics, IsSafeToUpdateFromSeveralThreads) {
  AgentMetrics metrics;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&metrics, t] {
      for (int i = 0; i < 1000; ++i) {
        metrics.poll_finished("s" + std::to_string(t % 2), "srs", Outcome::ok, 0.01s, 1);
        metrics.count_published(1);
      }
    });
  }
  std::thread reader([&metrics] {
    for (int i = 0; i < 50; ++i) (void)metrics.render();
  });
  for (auto& t : threads) t.join();
  reader.join();
  const auto text = metrics.render();
  EXPECT_THAT(text, HasSubstr("streamtrack_agent_published_total 4000\n"));
  EXPECT_THAT(text, HasSubstr("streamtrack_agent_samples_total{source=\"s0\"} 2000\n"));
}

}  // namespace
}  // namespace streamtrack::status
