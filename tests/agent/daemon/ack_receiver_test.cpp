// AckReceiver without a broker: which acks reach the publisher, what is ignored and counted,
// and the /readyz acks check.

#include "agent/daemon/ack_receiver.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "common/wire/codec.hpp"
#include "tests/agent/daemon/taking_transport.hpp"

namespace streamtrack::testing {
namespace {

using agent::ClientEvent;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace std::chrono_literals;
using Ranges = std::vector<std::pair<std::int64_t, std::int64_t>>;

// Seqs 1..last stored, every one readable.
class StoredRows final : public agent::publish::RowSource {
 public:
  explicit StoredRows(std::int64_t last) : m_last(last) {}
  Result<std::vector<agent::outbox::Row>> read(std::int64_t from, std::int64_t before,
                                               std::size_t limit) override {
    std::vector<agent::outbox::Row> out;
    for (auto seq = std::max<std::int64_t>(from, 1);
         seq < before && seq <= m_last && out.size() < limit; ++seq) {
      out.push_back({seq, "t", "p"});
    }
    return out;
  }
  std::int64_t last_seq() const override { return m_last; }
  bool quarantine(std::int64_t, const std::string&) override { return false; }

 private:
  std::int64_t m_last;
};

class Acks : public ::testing::Test {
 protected:
  Acks() {
    m_config.id = "rig";
    m_config.delivery = agent::Delivery::committed;
    m_config.ack_timeout = 10s;
    m_publisher.on_connected();
    m_publisher.pump(Steady::now(), true);  // seqs 1..5 published
  }

  static agent::publish::Options options() {
    agent::publish::Options o;
    o.max_inflight = 8;
    o.delivery = agent::Delivery::committed;
    o.ack_timeout = 10s;
    return o;
  }

  ClientEvent ack(Ranges ranges, bool retained = false) const {
    return message(m_topics.ack("rig"), wire::encode_ack({std::move(ranges)}), retained);
  }
  static ClientEvent message(std::string topic, std::string payload, bool retained = false) {
    return {.kind = ClientEvent::Kind::message,
            .text = std::move(payload),
            .topic = std::move(topic),
            .retained = retained};
  }

  // The value of one series of the agent's metrics; -1 when the series is absent.
  double metric(const std::string& series) const {
    std::istringstream in(m_metrics.render());
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
    }
    return -1;
  }
  double ignored(const std::string& reason) const {
    return metric("streamtrack_agent_acks_ignored_total{reason=\"" + reason + "\"}");
  }

  using Steady = std::chrono::steady_clock;
  agent::AgentConfig m_config;
  wire::Topics m_topics;
  streamtrack::status::AgentMetrics m_metrics;
  StoredRows m_rows{5};
  TakingTransport m_transport;
  agent::publish::Publisher m_publisher{options(), m_rows, m_transport};
  agent::AckReceiver m_acks{m_config, m_topics, m_publisher, m_rows, m_metrics};
};

TEST_F(Acks, AnAckForWhatThisRunPublishedIsApplied) {
  m_acks.on_message(ack({{1, 3}}));
  EXPECT_EQ(m_publisher.take_done(), (Ranges{{1, 3}}));
  EXPECT_EQ(ignored("retained"), -1);
}

TEST_F(Acks, RetainedWrongTopicAndMalformedAcksAreIgnoredAndCounted) {
  m_acks.on_message(ack({{1, 3}}, true));
  m_acks.on_message(message(m_topics.ack("other"), wire::encode_ack({{{4, 5}}})));
  m_acks.on_message(message(m_topics.ack("rig"), "{\"ranges\":"));
  EXPECT_TRUE(m_publisher.take_done().empty());
  EXPECT_EQ(ignored("retained"), 3);
  EXPECT_EQ(ignored("wrong_topic"), 2);
  EXPECT_EQ(ignored("malformed"), 1);
}

TEST_F(Acks, SeqsBeyondTheLastOneGivenOutAreAnIdentityConflictAndNothingIsApplied) {
  m_acks.on_message(ack({{1, 100}}));
  EXPECT_TRUE(m_publisher.take_done().empty());
  EXPECT_EQ(ignored("beyond_last_seq"), 100);
  EXPECT_EQ(metric("streamtrack_agent_identity_conflicts_total{evidence=\"ack\"}"), 1);
}

// 3,000 ranges of 2^53 - 1 seqs fit in one ack (63 KB) and name more seqs than an int64
// holds: the counts stop at its largest value instead of overflowing.
TEST_F(Acks, AForgedAckNamingMoreSeqsThanAnInt64HoldsIsCountedAtTheLargestValue) {
  const Ranges forged(3'000, {1, (std::int64_t{1} << 53) - 1});
  ASSERT_TRUE(wire::decode_ack(wire::encode_ack({forged})).ok());
  m_acks.on_message(message(m_topics.ack("other"), wire::encode_ack({forged})));
  m_acks.on_message(ack(forged));
  EXPECT_TRUE(m_publisher.take_done().empty());
  EXPECT_GT(ignored("wrong_topic"), 9.2e18);
  EXPECT_GT(ignored("beyond_last_seq"), 9.2e18);
}

TEST_F(Acks, ACollisionSuspendsAcksForTheHold) {
  m_acks.on_collision(Steady::now(), 1h);
  m_acks.on_message(ack({{1, 2}}));
  EXPECT_TRUE(m_publisher.take_done().empty());
  EXPECT_EQ(ignored("identity_conflict"), 2);

  m_acks.on_collision(Steady::now() - 2h, 1h);  // a hold that is over
  m_acks.on_message(ack({{1, 2}}));
  EXPECT_EQ(m_publisher.take_done(), (Ranges{{1, 2}}));
}

TEST_F(Acks, TheReadinessCheckFollowsTheSubscriptionAndTheWaitForAnAck) {
  EXPECT_FALSE(m_acks.check().ok);
  EXPECT_EQ(m_acks.check().detail, "not subscribed yet");
  m_acks.on_subscribed(true, m_topics.ack("rig"), "");
  EXPECT_TRUE(m_acks.check().ok);

  m_acks.on_puback(Steady::now() - 11s);
  EXPECT_FALSE(m_acks.check().ok);
  EXPECT_THAT(m_acks.check().detail, StartsWith("no ack for 11s after the broker took samples"));
  m_acks.on_message(ack({{1, 1}}));
  EXPECT_TRUE(m_acks.check().ok) << m_acks.check().detail;

  m_acks.on_subscribed(false, m_topics.ack("rig"), "refused (SUBACK code 0x80)");
  EXPECT_FALSE(m_acks.check().ok);
  EXPECT_THAT(m_acks.check().detail, HasSubstr("refused (SUBACK code 0x80)"));
}

}  // namespace
}  // namespace streamtrack::testing
