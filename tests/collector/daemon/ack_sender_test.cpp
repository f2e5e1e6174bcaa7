// The collector's acks against a fake MQTT client: every message fits what an agent accepts
// (wire::decode_ack, the agent's own decoder), and every committed seq is acknowledged once
// the client takes messages again.
#include "collector/daemon/ack_sender.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/wire/codec.hpp"
#include "tests/collector/daemon/metric_value.hpp"

namespace streamtrack::collector::daemon {
namespace {

// The MQTT client: takes messages while `accepting` (and while `room` lasts, when set), and
// refuses them otherwise, as Paho's queue does when full or while the broker is away.
class FakeClient {
 public:
  AckSender::Publish publish() {
    return [this](const std::string& topic, const std::string& payload) {
      if (!accepting || room == 0) return false;
      if (room > 0) --room;
      sent.emplace_back(topic, payload);
      return true;
    };
  }

  bool accepting = true;
  int room = -1;  // messages taken before refusing; -1: no limit
  std::vector<std::pair<std::string, std::string>> sent;
};

// What the agents were told, agent by agent, each message read as an agent reads it.
std::map<std::string, std::set<std::int64_t>> acked(const wire::Topics& topics,
                                                    const FakeClient& client) {
  std::map<std::string, std::set<std::int64_t>> out;
  for (const auto& [topic, payload] : client.sent) {
    EXPECT_LE(payload.size(), wire::k_max_payload_bytes) << "on " << topic;
    const auto parsed = topics.parse(topic);
    EXPECT_TRUE(parsed && parsed->kind == wire::TopicKind::ack) << topic;
    const auto ack = wire::decode_ack(payload);
    EXPECT_TRUE(ack) << "agent refuses the ack on " << topic << ": " << ack.error();
    if (!parsed || !ack) continue;
    for (const auto& [first, last] : ack->ranges) {
      for (auto seq = first; seq <= last; ++seq) out[parsed->agent].insert(seq);
    }
  }
  return out;
}

// `count` seqs with a gap after each, from 16-digit values up (the widest a range can be): the
// worst case for an ack's size, as when a frame's refused elements leave holes.
std::vector<std::int64_t> scattered(std::int64_t count, std::int64_t from = 1'000'000'000'000'000) {
  std::vector<std::int64_t> seqs;
  for (std::int64_t i = 0; i < count; ++i) seqs.push_back(from + 2 * i);
  return seqs;
}

class AckSenderTest : public ::testing::Test {
 protected:
  const wire::Topics m_topics{"st/v1"};
  FakeClient m_client;
  status::CollectorMetrics m_metrics;
};

TEST_F(AckSenderTest, ACommitOfScatteredSeqsIsAckedInMessagesTheAgentAccepts) {
  AckSender sender(m_topics, m_client.publish(), m_metrics);
  const auto seqs = scattered(20'000);  // as one message, over 700 KB
  sender.send("rig", seqs);

  const auto told = acked(m_topics, m_client);
  ASSERT_EQ(told.size(), 1u);
  EXPECT_EQ(told.at("rig"), std::set<std::int64_t>(seqs.begin(), seqs.end()));
  EXPECT_GT(m_client.sent.size(), 1u);
  EXPECT_EQ(metric_value(m_metrics, "streamtrack_collector_acks_sent_total"),
            static_cast<double>(m_client.sent.size()));
}

TEST_F(AckSenderTest, AcksRefusedForManyAgentsAreResentInMessagesTheAgentAcceptsUntilAllLand) {
  AckSender sender(m_topics, m_client.publish(), m_metrics);
  m_client.accepting = false;  // the broker is away
  std::map<std::string, std::set<std::int64_t>> committed;
  for (int agent = 0; agent < 100; ++agent) {
    const auto name = "rig-" + std::to_string(agent);
    for (std::int64_t batch = 0; batch < 3; ++batch) {
      // Each commit's seqs interleave with the previous one's.
      const auto seqs = scattered(1000, 1'000'000'000'000'000 + batch * 2'000 + agent % 2);
      sender.send(name, seqs);
      committed[name].insert(seqs.begin(), seqs.end());
    }
  }
  sender.resend_unsent();
  EXPECT_TRUE(m_client.sent.empty());

  m_client.accepting = true;  // back
  sender.resend_unsent();
  EXPECT_EQ(acked(m_topics, m_client), committed);
  const auto messages = m_client.sent.size();
  sender.resend_unsent();
  EXPECT_EQ(m_client.sent.size(), messages) << "nothing was left to resend";
  EXPECT_EQ(metric_value(m_metrics, "streamtrack_collector_acks_dropped_total"), 0);
}

TEST_F(AckSenderTest, AClientThatFillsUpHalfwayKeepsTheRestOfAnAckForTheNextTurn) {
  AckSender sender(m_topics, m_client.publish(), m_metrics);
  m_client.room = 1;  // takes the first message of the ack, refuses the next
  const auto seqs = scattered(20'000);
  sender.send("rig", seqs);
  EXPECT_EQ(m_client.sent.size(), 1u);

  m_client.room = -1;
  sender.resend_unsent();
  const auto told = acked(m_topics, m_client);
  EXPECT_EQ(told.at("rig"), std::set<std::int64_t>(seqs.begin(), seqs.end()));
}

TEST_F(AckSenderTest, AFloodOfAgentNamesCannotGrowTheUnsentAcksBeyondTheirBoundAndDropsAreCounted) {
  AckSender::Limits limits;
  limits.max_unsent_bytes = 100'000;
  AckSender sender(m_topics, m_client.publish(), m_metrics, limits);
  m_client.accepting = false;  // the broker is away
  // Forged samples under 10,000 agent names, one committed seq each.
  constexpr int k_agents = 10'000;
  for (int agent = 0; agent < k_agents; ++agent) {
    sender.send("forged-" + std::to_string(agent), {1});
    ASSERT_LE(sender.unsent_bytes(), limits.max_unsent_bytes);
  }
  const auto dropped = metric_value(m_metrics, "streamtrack_collector_acks_dropped_total");
  EXPECT_GT(dropped, 0);
  EXPECT_LT(dropped, k_agents);

  m_client.accepting = true;
  sender.resend_unsent();
  EXPECT_EQ(sender.unsent_bytes(), 0u);
  const auto told = acked(m_topics, m_client);
  // Every seq was either acked or counted as dropped (its agent resends it): none vanished.
  EXPECT_EQ(static_cast<double>(told.size()) + dropped, k_agents);
  for (const auto& [agent, seqs] : told) EXPECT_EQ(seqs, std::set<std::int64_t>{1}) << agent;
}

TEST_F(AckSenderTest, AnAgentKeepsItsUnsentAcksWithinTheBoundToo) {
  AckSender::Limits limits;
  limits.max_unsent_bytes = 100'000;
  AckSender sender(m_topics, m_client.publish(), m_metrics, limits);
  m_client.accepting = false;
  std::int64_t committed = 0;
  for (std::int64_t batch = 0; batch < 100; ++batch) {
    sender.send("rig", scattered(500, 1 + batch * 1000));
    committed += 500;
    ASSERT_LE(sender.unsent_bytes(), limits.max_unsent_bytes);
  }
  m_client.accepting = true;
  sender.resend_unsent();
  const auto told = acked(m_topics, m_client);
  EXPECT_EQ(static_cast<double>(told.at("rig").size()) +
                metric_value(m_metrics, "streamtrack_collector_acks_dropped_total"),
            static_cast<double>(committed));
  EXPECT_GT(told.at("rig").size(), 0u);
}

TEST_F(AckSenderTest, AnAgentsRepeatedAndAdjacentAcksAreHeldMergedAndChargedOnce) {
  AckSender sender(m_topics, m_client.publish(), m_metrics);
  m_client.accepting = false;  // the broker is away
  sender.send("rig", {1, 2, 3});
  const auto one_range = sender.unsent_bytes();
  ASSERT_GT(one_range, 0u);
  for (int again = 0; again < 1000; ++again) sender.send("rig", {1, 2, 3});
  for (std::int64_t seq = 4; seq <= 1003; ++seq) sender.send("rig", {seq});
  sender.send("rig", {500, 1000});
  EXPECT_EQ(sender.unsent_bytes(), one_range) << "[1,1003] is one range";

  m_client.accepting = true;
  sender.resend_unsent();
  EXPECT_EQ(sender.unsent_bytes(), 0u);
  ASSERT_EQ(m_client.sent.size(), 1u);
  const auto ack = wire::decode_ack(m_client.sent[0].second);
  ASSERT_TRUE(ack) << ack.error();
  EXPECT_EQ(ack->ranges, (SeqRanges{{1, 1003}}));
  EXPECT_EQ(metric_value(m_metrics, "streamtrack_collector_acks_dropped_total"), 0);
}

TEST_F(AckSenderTest, OneAgentsFloodFillsOnlyItsShareAndAnotherAgentsAcksAreStillKeptAndSent) {
  AckSender::Limits limits;
  limits.max_unsent_bytes = 100'000;
  limits.max_unsent_bytes_per_agent = 10'000;
  AckSender sender(m_topics, m_client.publish(), m_metrics, limits);
  m_client.accepting = false;  // the broker is away
  // A floods: one scattered seq per commit, far more than its share holds.
  const auto flood = scattered(20'000, 1);
  for (const auto seq : flood) {
    sender.send("flooder", {seq});
    ASSERT_LE(sender.unsent_bytes(), limits.max_unsent_bytes);
  }
  const auto dropped = metric_value(m_metrics, "streamtrack_collector_acks_dropped_total");
  EXPECT_GT(dropped, 0);
  EXPECT_LE(sender.unsent_bytes(), limits.max_unsent_bytes_per_agent);
  // B's acks are kept all the same.
  const auto quiet = scattered(100, 1);
  sender.send("quiet", quiet);
  EXPECT_EQ(metric_value(m_metrics, "streamtrack_collector_acks_dropped_total"), dropped);

  m_client.accepting = true;
  sender.resend_unsent();
  const auto told = acked(m_topics, m_client);
  ASSERT_EQ(told.count("quiet"), 1u) << "the quiet agent's acks were dropped";
  ASSERT_EQ(told.count("flooder"), 1u);
  EXPECT_EQ(told.at("quiet"), std::set<std::int64_t>(quiet.begin(), quiet.end()));
  // The flooder's kept acks are its lowest seqs; every other one was counted as dropped.
  const auto kept = told.at("flooder").size();
  EXPECT_EQ(static_cast<double>(kept) + dropped, static_cast<double>(flood.size()));
  EXPECT_EQ(
      told.at("flooder"),
      std::set<std::int64_t>(flood.begin(), flood.begin() + static_cast<std::ptrdiff_t>(kept)));
}

TEST_F(AckSenderTest, ABatchBeyondTheShareKeepsItsLowestSeqsAndCountsExactlyTheRestAsDropped) {
  AckSender::Limits limits;
  limits.max_unsent_bytes_per_agent = 10'000;
  AckSender sender(m_topics, m_client.publish(), m_metrics, limits);
  m_client.accepting = false;
  const auto seqs = scattered(5'000);  // 5,000 ranges: 80 KB held, far beyond the share
  sender.send("rig", seqs);
  EXPECT_LE(sender.unsent_bytes(), limits.max_unsent_bytes_per_agent);
  const auto dropped = metric_value(m_metrics, "streamtrack_collector_acks_dropped_total");

  m_client.accepting = true;
  sender.resend_unsent();
  const auto told = acked(m_topics, m_client);
  ASSERT_EQ(told.count("rig"), 1u) << "the prefix that fits is kept";
  const auto kept = told.at("rig").size();
  EXPECT_GT(kept, 100u);
  EXPECT_EQ(static_cast<double>(kept) + dropped, static_cast<double>(seqs.size()));
  EXPECT_EQ(told.at("rig"),
            std::set<std::int64_t>(seqs.begin(), seqs.begin() + static_cast<std::ptrdiff_t>(kept)));
}

TEST(AckMessageEnds, EachRunEncodesWithinTheLimitAndRunsCoverEveryRangeInOrder) {
  SeqRanges ranges;
  for (std::int64_t i = 0; i < 5000; ++i)
    ranges.emplace_back(1 + i * 3 * (i % 7 + 1), 2 + i * 3 * (i % 7 + 1));
  for (const std::size_t limit :
       {std::size_t{40}, std::size_t{100}, std::size_t{1000}, wire::k_max_payload_bytes}) {
    const auto ends = ack_message_ends(ranges, limit);
    std::size_t begin = 0;
    for (const auto end : ends) {
      ASSERT_LT(begin, end) << "limit " << limit;
      const auto payload =
          wire::encode_ack({SeqRanges(ranges.begin() + static_cast<std::ptrdiff_t>(begin),
                                      ranges.begin() + static_cast<std::ptrdiff_t>(end))});
      EXPECT_TRUE(payload.size() <= limit || end - begin == 1) << "limit " << limit;
      if (end < ranges.size()) {
        // As full as it may be: one more range would not fit.
        const auto more =
            wire::encode_ack({SeqRanges(ranges.begin() + static_cast<std::ptrdiff_t>(begin),
                                        ranges.begin() + static_cast<std::ptrdiff_t>(end + 1))});
        EXPECT_GT(more.size(), limit) << "limit " << limit;
      }
      begin = end;
    }
    EXPECT_EQ(begin, ranges.size());
  }
  EXPECT_TRUE(ack_message_ends({}, 100).empty());
}

}  // namespace
}  // namespace streamtrack::collector::daemon
