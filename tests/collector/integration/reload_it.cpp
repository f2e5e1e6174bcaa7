// SIGHUP on the real collector: alert rules, webhooks and [batch] settings from the main file
// and collector.d/ drop-ins are applied while it runs; a configuration that fails validation
// changes nothing.
// Observed through sd_notify and /metrics, never through the log.
#include <csignal>

#include "common/wire/codec.hpp"
#include "common/wire/frame.hpp"
#include "tests/collector/integration/collector_fixture.hpp"
#include "tests/support/alertmanager.hpp"
#include "tests/support/notify_receiver.hpp"

namespace streamtrack::collector::testing {
namespace {

class ReloadIT : public CollectorTest {
 protected:
  std::string metrics() const { return http_get(m_port, "/metrics").second; }
  // The value of streamtrack_collector_alert_transitions_total{rule,state}, or nullopt when
  // the series does not exist.
  std::optional<std::string> transitions(const std::string& rule, const std::string& state) const {
    const auto text = metrics();
    const std::string series = "streamtrack_collector_alert_transitions_total{rule=\"" + rule +
                               "\",state=\"" + state + "\"} ";
    const auto at = text.find(series);
    if (at == std::string::npos) return std::nullopt;
    const auto begin = at + series.size();
    return text.substr(begin, text.find('\n', begin) - begin);
  }
  // The value of the unlabelled series `name` (e.g. a histogram's _count), or -1 when absent.
  double value(const std::string& name) const {
    const auto text = metrics();
    const auto at = text.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + name.size() + 2));
  }
  // Waits until `rows` rows were written in total, then returns in how many batches.
  double batches_once_rows_are(double rows) const {
    EXPECT_TRUE(wait_until([&] { return value("streamtrack_collector_batch_rows_sum") == rows; }))
        << metrics();
    return value("streamtrack_collector_batch_rows_count");
  }
  void reload(Process& collector, const NotifyReceiver& notify) {
    const auto before = notify.size();
    collector.signal(SIGHUP);
    const auto reloading = notify.wait_for("RELOADING=1", before);
    ASSERT_TRUE(reloading.has_value()) << collector.output();
    ASSERT_TRUE(notify.wait_for("READY=1", *reloading + 1).has_value()) << collector.output();
  }

  std::uint16_t m_port = free_port();
};

TEST_F(ReloadIT, SighupAppliesAlertRulesFromDropInsAndRefusesAnInvalidConfiguration) {
  NotifyReceiver notify;
  CollectorOptions o;
  o.http_listen = "127.0.0.1:" + std::to_string(m_port);
  o.extra = "[[alert]]\nname = \"offline\"\nrule = \"went_offline\"\n";
  o.env = {"NOTIFY_SOCKET=" + notify.path()};
  auto collector = start_collector(o);
  ASSERT_TRUE(notify.wait_for("READY=1").has_value()) << collector->output();
  MqttProbe probe(m_broker.url(), {"st/v1/alerts/#"}, 1);

  // Series exist from startup, at zero, for every configured rule.
  EXPECT_EQ(transitions("offline", "pending"), "0");
  EXPECT_EQ(transitions("offline", "firing"), "0");
  EXPECT_EQ(transitions("offline", "resolved"), "0");
  EXPECT_EQ(transitions("live", "firing"), std::nullopt);

  // A configuration tool drops a rule into collector.d/.
  std::filesystem::create_directory(m_dir / "collector.d");
  write_file(m_dir / "collector.d" / "50-live.toml",
             "[[alert]]\nname = \"live\"\nrule = \"went_live\"\nseverity = \"info\"\n");
  reload(*collector, notify);
  EXPECT_EQ(transitions("live", "firing"), "0");
  publish(probe, make_sample("rig", 1, "2030-03-01T10:00:00Z", "ch1"));
  EXPECT_TRUE(wait_until([&] { return transitions("live", "firing") == "1"; })) << metrics();

  // Invalid: a new rule plus an unknown key. Refused as a whole; the running rules stay.
  write_file(m_dir / "collector.d" / "60-bad.toml",
             "[[alert]]\nname = \"bad\"\nrule = \"went_live\"\n[collector]\nbogus = 1\n");
  reload(*collector, notify);
  EXPECT_TRUE(collector->running());
  publish(probe, make_sample("rig", 2, "2030-03-01T10:00:01Z", "ch2"));
  EXPECT_TRUE(wait_until([&] { return transitions("live", "firing") == "2"; })) << metrics();
  EXPECT_EQ(transitions("bad", "firing"), std::nullopt);

  // Removing the drop-ins removes the rule: its open alerts resolve.
  std::filesystem::remove(m_dir / "collector.d" / "60-bad.toml");
  std::filesystem::remove(m_dir / "collector.d" / "50-live.toml");
  reload(*collector, notify);
  EXPECT_TRUE(wait_until([&] { return transitions("live", "resolved") == "2"; })) << metrics();
  EXPECT_EQ(collector->stop(), 0);
}

// [batch] max_rows is applied on SIGHUP by the running writers (the next batch has the new
// size), with every sample stored once; a refused reload keeps the running value. The samples
// come as frames: a frame's elements are queued together, so a writer takes as many of them as
// max_rows allows.
TEST_F(ReloadIT, SighupAppliesBatchSettingsToTheRunningWriters) {
  NotifyReceiver notify;
  CollectorOptions o;
  o.http_listen = "127.0.0.1:" + std::to_string(m_port);
  o.pool_size = 1;
  o.max_delay = "1h";
  o.batch_extra = "max_rows = 1\n";
  o.env = {"NOTIFY_SOCKET=" + notify.path()};
  auto collector = start_collector(o);
  ASSERT_TRUE(notify.wait_for("READY=1").has_value()) << collector->output();
  MqttProbe probe(m_broker.url(), {"st/v1/+/ack"}, 1);
  std::int64_t seq = 0;
  const auto publish_frame = [&](int n) {
    wire::FrameBuilder frame("rig");
    for (int i = 0; i < n; ++i, ++seq) {
      ASSERT_TRUE(frame.add(wire::encode_sample(make_sample(
          "rig", seq + 1, "2030-03-01T10:00:" + std::to_string(10 + seq) + "Z", "ch1"))));
    }
    probe.publish(k_topics.frames("rig"), frame.finish());
  };

  publish_frame(2);
  EXPECT_EQ(batches_once_rows_are(2), 2);  // one row each

  std::filesystem::create_directory(m_dir / "collector.d");
  write_file(m_dir / "collector.d" / "50-batch.toml", "[batch]\nmax_rows = 3\n");
  reload(*collector, notify);
  publish_frame(3);
  EXPECT_EQ(batches_once_rows_are(5), 3);  // one batch of three

  // Invalid (max_rows below its minimum): refused as a whole, the writers keep three rows.
  write_file(m_dir / "collector.d" / "60-bad.toml", "[batch]\nmax_rows = 0\n");
  reload(*collector, notify);
  EXPECT_TRUE(collector->running());
  publish_frame(3);
  EXPECT_EQ(batches_once_rows_are(8), 4);

  expect_count("SELECT count(*) FROM livestream_metrics", 8);
  EXPECT_EQ(collector->stop(), 0);
}

// [batch] min_delay is applied on SIGHUP: with "0s" a lone sample is written at once; after a
// reload to an hour, single samples wait for each other until max_rows of them form one batch.
TEST_F(ReloadIT, SighupAppliesMinDelayToTheRunningWriters) {
  NotifyReceiver notify;
  CollectorOptions o;
  o.http_listen = "127.0.0.1:" + std::to_string(m_port);
  o.pool_size = 1;
  o.max_delay = "1h";
  o.batch_extra = "max_rows = 3\nmin_delay = \"0s\"\n";
  o.env = {"NOTIFY_SOCKET=" + notify.path()};
  auto collector = start_collector(o);
  ASSERT_TRUE(notify.wait_for("READY=1").has_value()) << collector->output();
  MqttProbe probe(m_broker.url(), {"st/v1/+/ack"}, 1);
  const auto sample_at = [](int seq) {
    return make_sample("rig", seq, "2030-03-01T10:00:" + std::to_string(10 + seq) + "Z", "ch1");
  };

  publish(probe, sample_at(1));
  EXPECT_EQ(batches_once_rows_are(1), 1);  // alone, at once

  std::filesystem::create_directory(m_dir / "collector.d");
  write_file(m_dir / "collector.d" / "50-batch.toml", "[batch]\nmin_delay = \"1h\"\n");
  reload(*collector, notify);
  for (int seq = 2; seq <= 4; ++seq) publish(probe, sample_at(seq));
  EXPECT_EQ(batches_once_rows_are(4), 2);  // the three single samples in one batch

  expect_count("SELECT count(*) FROM livestream_metrics", 4);
  EXPECT_EQ(collector->stop(), 0);
}

}  // namespace
}  // namespace streamtrack::collector::testing
