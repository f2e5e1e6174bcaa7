// Frames against the running collector, real Mosquitto and PostgreSQL: each sample of a frame
// becomes a row or a reject of its own and is acknowledged by its own seq; a frame refused
// whole is one reject and acknowledges nothing.
#include "common/wire/frame.hpp"
#include "tests/collector/integration/collector_fixture.hpp"

namespace streamtrack::collector::testing {
namespace {

class FramesIT : public CollectorTest {
 protected:
  static std::string ts_for(int i) {
    return format_rfc3339(*parse_rfc3339("2030-03-01T10:00:00Z") + std::chrono::seconds{i});
  }
};

TEST_F(FramesIT, EachSampleOfAFrameLandsOrIsRejectedOnItsOwnAndIsAckedBySeq) {
  auto collector = start_collector();
  MqttProbe probe(m_broker.url(), {"st/v1/+/ack"});
  wire::FrameBuilder good("rig");
  for (int seq = 1; seq <= 50; ++seq) {
    ASSERT_TRUE(good.add(wire::encode_sample(make_sample("rig", seq, ts_for(seq), "live/main"))));
  }
  probe.publish(k_topics.frames("rig"), good.finish());

  auto other_version = wire::encode_sample(make_sample("rig", 53, ts_for(53), "live/main"));
  other_version.replace(other_version.find("\"schema\":1"), 10, "\"schema\":2");
  const std::string mixed =
      R"({"frame":1,"agent":"rig","samples":[)" +
      wire::encode_sample(make_sample("rig", 51, ts_for(51), "live/main")) + "," +
      wire::encode_sample(make_sample("rig", 51, ts_for(99), "live/main")) + "," +
      wire::encode_sample(make_sample("intruder", 52, ts_for(52), "live/main")) + "," +
      other_version + "," + R"({"schema":1,"agent":"rig","seq":54})" + "," +
      wire::encode_sample(make_sample("rig", 55, ts_for(55), "live/other")) + "]}";
  probe.publish(k_topics.frames("rig"), mixed);
  // Refused whole: truncated, and sent on another agent's frames topic.
  probe.publish(k_topics.frames("rig"), mixed.substr(0, mixed.size() / 2));
  probe.publish(k_topics.frames("impostor"), mixed);

  expect_count("SELECT count(*) FROM livestream_metrics", 52);
  expect_count("SELECT count(*) FROM ingest_rejects", 6);
  EXPECT_EQ(count("SELECT count(DISTINCT seq) FROM livestream_metrics WHERE agent_id = 'rig'"), 52);
  EXPECT_EQ(count("SELECT count(*) FROM ingest_rejects WHERE reason = 'seq 51 repeats "
                  "samples[0]'"),
            1);
  EXPECT_EQ(count("SELECT count(*) FROM ingest_rejects WHERE reason = 'agent \"intruder\" is "
                  "not the frame''s agent \"rig\"'"),
            1);
  EXPECT_EQ(count("SELECT count(*) FROM ingest_rejects WHERE reason LIKE 'frame: invalid JSON%'"),
            1);
  EXPECT_EQ(count("SELECT count(*) FROM ingest_rejects WHERE reason = 'payload agent \"rig\" "
                  "does not match topic agent \"impostor\"'"),
            1);
  std::set<std::int64_t> expected;
  for (int seq = 1; seq <= 51; ++seq) expected.insert(seq);
  expected.insert(55);
  ASSERT_TRUE(wait_until([&] {
    const auto a = acked(probe, "rig");
    return std::set<std::int64_t>(a.begin(), a.end()) == expected;
  }));
  EXPECT_TRUE(acked(probe, "impostor").empty());
  EXPECT_EQ(collector->stop(), 0);
}

// A batch over many channels makes the collector publish a live value per channel right after
// the commit, and its acks right behind them: more than the client's queue of unsent messages
// once held (Paho's default, 100), and an ack it refused was dropped, so the agent sent the
// samples again only after ack_timeout. Every ack must arrive without a resend.
TEST_F(FramesIT, AcksOfABatchOverManyChannelsAreNotLostBehindItsLiveValues) {
  CollectorOptions o;
  o.max_delay = "500ms";  // one batch, so the live values of 2,000 channels leave at once
  auto collector = start_collector(o);
  MqttProbe probe(m_broker.url(), {"st/v1/+/ack"});
  constexpr int k_samples = 2000;
  for (int first = 1; first <= k_samples; first += 500) {
    wire::FrameBuilder frame("rig");
    for (int seq = first; seq < first + 500; ++seq) {
      ASSERT_TRUE(frame.add(wire::encode_sample(
          make_sample("rig", seq, ts_for(seq), "live/ch" + std::to_string(seq)))));
    }
    probe.publish(k_topics.frames("rig"), frame.finish());
  }
  expect_count("SELECT count(*) FROM livestream_metrics", k_samples);
  ASSERT_TRUE(wait_until([&] { return acked(probe, "rig").size() >= k_samples; }))
      << acked(probe, "rig").size() << " of " << k_samples << " acked\n"
      << collector->output();
  const auto a = acked(probe, "rig");
  EXPECT_EQ(std::set<std::int64_t>(a.begin(), a.end()).size(), std::size_t{k_samples});
  EXPECT_EQ(collector->stop(), 0);
}

}  // namespace
}  // namespace streamtrack::collector::testing
