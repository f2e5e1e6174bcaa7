// OutboxWriter over a real outbox (SQLite in a temporary directory) and the publisher wired to
// it as the daemon wires them, without a broker: group commit, next_due, batched deletes.

#include "agent/daemon/outbox_writer.hpp"

#include <gtest/gtest.h>

#include "agent/daemon/publish_wiring.hpp"
#include "tests/agent/daemon/taking_transport.hpp"
#include "tests/support/harness.hpp"

namespace streamtrack::testing {
namespace {

using namespace std::chrono_literals;

std::vector<Sample> samples(std::size_t n) {
  std::vector<Sample> out;
  for (std::size_t i = 0; i < n; ++i) {
    Sample s;
    s.agent = "rig";
    s.platform = "http_json";
    s.channel = "c" + std::to_string(i);
    s.live = true;
    s.ts = TimePoint{std::chrono::milliseconds{1'700'000'000'000}};
    out.push_back(std::move(s));
  }
  return out;
}

class Writer : public ::testing::Test {
 protected:
  Writer() { m_config.delivery = agent::Delivery::broker; }

  TempDir m_dir{"streamtrack-outbox-writer"};
  agent::AgentConfig m_config;
  agent::outbox::Outbox m_outbox{m_dir / "outbox.db", agent::outbox::Options{}};
  streamtrack::http::AgentMetrics m_metrics;
  agent::OutboxWriter m_writer{m_outbox, m_config, m_metrics};
};

TEST_F(Writer, PollsThatFinishTogetherAreStoredInOneGoOnceNoRequestIsInFlight) {
  EXPECT_FALSE(m_writer.next_due());
  m_writer.add(samples(3));
  m_writer.add(samples(2));
  ASSERT_TRUE(m_writer.next_due());
  EXPECT_LE(*m_writer.next_due(),
            agent::OutboxWriter::Steady::now() + agent::OutboxWriter::k_group_commit_delay);
  EXPECT_EQ(m_outbox.depth(), 0);
  m_writer.store_if_due(false);
  EXPECT_EQ(m_outbox.depth(), 5);
  EXPECT_EQ(m_outbox.last_seq(), 5);
  EXPECT_FALSE(m_writer.next_due());
  EXPECT_FALSE(m_writer.write_failing());
  EXPECT_EQ(m_writer.unsaved(), 0);
}

TEST_F(Writer, DeliveredSeqsAreDeletedTogetherWhenDueOrAtOnceWhenAsked) {
  m_writer.add(samples(4));
  m_writer.store_now();
  agent::OutboxRows rows(m_outbox);
  TakingTransport transport;
  agent::publish::Publisher publisher(agent::publisher_options(m_config), rows, transport);
  publisher.on_connected();
  ASSERT_EQ(publisher.pump(agent::OutboxWriter::Steady::now(), true), 4U);
  for (std::uint64_t id = 1; id <= 3; ++id) {
    publisher.on_delivered(id, true, agent::OutboxWriter::Steady::now());
  }
  // Fewer than k_delete_batch seqs and not k_delete_delay yet: kept for one delete later.
  m_writer.remove_delivered(publisher, false);
  EXPECT_EQ(m_outbox.depth(), 4);
  ASSERT_TRUE(m_writer.next_due());
  m_writer.remove_delivered(publisher, true);
  EXPECT_EQ(m_outbox.depth(), 1);
  EXPECT_FALSE(m_writer.next_due());
}

}  // namespace
}  // namespace streamtrack::testing
