// The publisher's window, ordering and delivery rules, over fake rows and a fake transport.

#include "agent/publish/publisher.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace streamtrack::testing {
namespace {

using agent::Delivery;
using agent::publish::Options;
using agent::publish::Publisher;
using agent::publish::Steady;
using namespace std::chrono_literals;

class FakeRows final : public agent::publish::RowSource {
 public:
  void add(std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) {
      ++m_last;
      m_rows[m_last] =
          agent::outbox::Row{m_last, "t/" + std::to_string(m_last % 3), std::to_string(m_last)};
    }
  }
  void erase(std::int64_t seq) { m_rows.erase(seq); }
  Result<std::vector<agent::outbox::Row>> read(std::int64_t from, std::int64_t before,
                                               std::size_t limit) override {
    if (fail_reads) return Result<std::vector<agent::outbox::Row>>::failure("disk I/O error");
    std::vector<agent::outbox::Row> out;
    for (auto it = m_rows.lower_bound(from);
         it != m_rows.end() && it->first < before && out.size() < limit; ++it) {
      out.push_back(it->second);
    }
    return out;
  }
  std::int64_t last_seq() const override { return m_last; }
  bool quarantine(std::int64_t seq, const std::string& reason) override {
    if (fail_quarantine) return false;
    m_rows.erase(seq);
    quarantined.emplace_back(seq, reason);
    return true;
  }
  bool fail_reads = false;
  bool fail_quarantine = false;
  std::vector<std::pair<std::int64_t, std::string>> quarantined;

 private:
  std::map<std::int64_t, agent::outbox::Row> m_rows;
  std::int64_t m_last = 0;
};

class FakeTransport final : public agent::publish::Transport {
 public:
  mqtt::PublishResult publish(const mqtt::Message& m) override {
    if (refuse) return {mqtt::PublishResult::Kind::retry, 0, "not connected"};
    if (reject.count(std::stoll(m.payload))) {
      return {mqtt::PublishResult::Kind::reject, 0, "topic is not UTF-8"};
    }
    sent.emplace_back(++m_next, std::stoll(m.payload));
    return {mqtt::PublishResult::Kind::sent, m_next, {}};
  }
  std::vector<std::int64_t> seqs() const {
    std::vector<std::int64_t> out;
    for (const auto& [id, seq] : sent) out.push_back(seq);
    return out;
  }
  std::uint64_t id_of(std::int64_t seq) const {
    for (const auto& [id, s] : sent) {
      if (s == seq) return id;
    }
    return 0;
  }
  bool refuse = false;
  std::set<std::int64_t> reject;  // seqs whose message the client refuses for good
  std::vector<std::pair<std::uint64_t, std::int64_t>> sent;

 private:
  std::uint64_t m_next = 100;
};

Options opts(std::size_t window, Delivery delivery = Delivery::broker) {
  Options o;
  o.max_inflight = window;
  o.delivery = delivery;
  o.ack_timeout = 10s;
  return o;
}

std::vector<std::int64_t> iota(std::int64_t from, std::int64_t to) {
  std::vector<std::int64_t> out;
  for (std::int64_t i = from; i <= to; ++i) out.push_back(i);
  return out;
}

const Steady::time_point t0{};

TEST(Publisher, SendsNothingWhileDisconnected) {
  FakeRows rows;
  FakeTransport transport;
  Publisher p(opts(8), rows, transport);
  rows.add(5);
  EXPECT_EQ(p.pump(t0, false), 0u);
  EXPECT_TRUE(transport.sent.empty());
  EXPECT_FALSE(p.has_work(false));
}

TEST(Publisher, KeepsAtMostTheWindowInFlightAndRemovesOnPubackUnderBrokerDelivery) {
  FakeRows rows;
  FakeTransport transport;
  Publisher p(opts(4), rows, transport);
  rows.add(10);
  p.on_connected();
  EXPECT_EQ(p.pump(t0, true), 4u);
  EXPECT_EQ(transport.seqs(), iota(1, 4));
  EXPECT_FALSE(p.has_work(true));
  p.on_delivered(transport.id_of(1), true, t0);
  p.on_delivered(transport.id_of(2), true, t0);
  EXPECT_EQ(p.take_done(), (std::vector<std::pair<std::int64_t, std::int64_t>>{{1, 2}}));
  EXPECT_TRUE(p.take_done().empty());
  EXPECT_EQ(p.pump(t0, true), 2u);
  EXPECT_EQ(transport.seqs(), iota(1, 6));
  EXPECT_EQ(p.figures().inflight, 4u);
}

TEST(Publisher, NeverResendsWhatTheClientStillOwnsAcrossAReconnect) {
  FakeRows rows;
  FakeTransport transport;
  Publisher p(opts(4), rows, transport);
  rows.add(6);
  p.on_connected();
  p.pump(t0, true);
  // Connection lost and back: the four ids are still owned by the client (it retransmits).
  p.on_connected();
  EXPECT_EQ(p.pump(t0, true), 0u);
  // Their outcomes arrive once; a failed one is sent again, the others are done.
  p.on_delivered(transport.id_of(1), true, t0);
  p.on_delivered(transport.id_of(2), false, t0);
  EXPECT_FALSE(p.on_delivered(transport.id_of(2), true, t0));  // a second outcome: ignored
  EXPECT_FALSE(p.on_delivered(9999, true, t0));  // not a sample (a status or health message)
  EXPECT_EQ(p.pump(t0, true), 2u);
  EXPECT_EQ(transport.seqs(), (std::vector<std::int64_t>{1, 2, 3, 4, 2, 5}));
  EXPECT_EQ(p.figures().resent, 1);
  EXPECT_EQ(p.take_done(), (std::vector<std::pair<std::int64_t, std::int64_t>>{{1, 1}}));
}

TEST(Publisher, InterleavesLiveSamplesWithALongBacklogEachStreamInSeqOrder) {
  FakeRows rows;
  FakeTransport transport;
  Publisher p(opts(1000), rows, transport);
  rows.add(200);  // backlog
  p.on_connected();
  rows.add(40);  // stored after the connect: live
  p.pump(t0, true);
  const auto sent = transport.seqs();
  ASSERT_EQ(sent.size(), 240u);
  std::vector<std::int64_t> backlog, live;
  for (const auto s : sent) (s <= 200 ? backlog : live).push_back(s);
  EXPECT_EQ(backlog, iota(1, 200));
  EXPECT_EQ(live, iota(201, 240));
  // Every live sample went out before the backlog was done.
  const auto last_live = std::find(sent.begin(), sent.end(), 240);
  const auto last_backlog = std::find(sent.begin(), sent.end(), 200);
  EXPECT_LT(last_live, last_backlog);
}

TEST(Publisher, SkipsRowsDeletedBeforeTheyWereSent) {
  FakeRows rows;
  FakeTransport transport;
  Publisher p(opts(100), rows, transport);
  rows.add(10);
  rows.erase(3);
  rows.erase(4);
  p.on_connected();
  p.pump(t0, true);
  EXPECT_EQ(transport.seqs(), (std::vector<std::int64_t>{1, 2, 5, 6, 7, 8, 9, 10}));
  EXPECT_FALSE(p.has_work(true));
}

TEST(Publisher, ARefusedPublishLosesNothing) {
  FakeRows rows;
  FakeTransport transport;
  Publisher p(opts(100), rows, transport);
  rows.add(5);
  p.on_connected();
  transport.refuse = true;
  EXPECT_EQ(p.pump(t0, true), 0u);
  EXPECT_TRUE(p.has_work(true));
  transport.refuse = false;
  p.on_connected();
  EXPECT_EQ(p.pump(t0, true), 5u);
  EXPECT_EQ(transport.seqs(), iota(1, 5));
}

TEST(Publisher, CommittedDeliveryWaitsForTheCollectorsAckAndResendsAfterTheTimeout) {
  FakeRows rows;
  FakeTransport transport;
  Publisher p(opts(10, Delivery::committed), rows, transport);
  rows.add(5);
  p.on_connected();
  p.pump(t0, true);
  for (std::int64_t s = 1; s <= 5; ++s) p.on_delivered(transport.id_of(s), true, t0);
  EXPECT_TRUE(p.take_done().empty());  // a PUBACK is not enough
  EXPECT_EQ(p.figures().unacked, 5u);

  // Naming seqs beyond the last one given out makes the whole ack suspect: none of it counts.
  auto report = p.on_ack(wire::Ack{{{1, 2}, {4, 4}, {90, 95}}});
  EXPECT_EQ(report.applied, 0);
  EXPECT_EQ(report.beyond_last_seq, 9);
  EXPECT_TRUE(p.take_done().empty());
  report = p.on_ack(wire::Ack{{{1, 2}, {4, 4}}});
  EXPECT_EQ(report.applied, 3);
  EXPECT_EQ(p.take_done(), (std::vector<std::pair<std::int64_t, std::int64_t>>{{1, 2}, {4, 4}}));
  EXPECT_EQ(p.pump(t0 + 5s, true), 0u);
  EXPECT_EQ(p.pump(t0 + 11s, true), 2u);  // 3 and 5: no ack within ack_timeout
  EXPECT_EQ(transport.seqs(), (std::vector<std::int64_t>{1, 2, 3, 4, 5, 3, 5}));
  EXPECT_EQ(p.figures().resent, 2);
}

TEST(Publisher, AcksForSeqsThisRunDidNotPublishAreCountedNotApplied) {
  FakeRows rows;
  FakeTransport transport;
  Publisher p(opts(10, Delivery::committed), rows, transport);
  rows.add(6);
  // An ack for what an earlier run of the agent sent: this run holds those rows but has not
  // published them, so the ack proves nothing about them.
  auto report = p.on_ack(wire::Ack{{{1, 3}}});
  EXPECT_EQ(report.applied, 0);
  EXPECT_EQ(report.not_published, 3);
  EXPECT_TRUE(p.take_done().empty());
  p.on_connected();
  p.pump(t0, true);
  EXPECT_EQ(transport.seqs(), iota(1, 6));
  // Forged: the whole seq space, published seqs included; counted without walking it, and
  // not applied to the seqs that happen to match.
  report = p.on_ack(wire::Ack{{{1, 9'007'199'254'740'991}}});
  EXPECT_EQ(report.applied, 0);
  EXPECT_EQ(report.beyond_last_seq, 9'007'199'254'740'991);
  EXPECT_TRUE(p.take_done().empty());
  // Now published (still awaiting PUBACK): the ack applies, a late PUBACK changes nothing.
  report = p.on_ack(wire::Ack{{{2, 3}}});
  EXPECT_EQ(report.applied, 2);
  EXPECT_EQ(p.take_done(), (std::vector<std::pair<std::int64_t, std::int64_t>>{{2, 3}}));
  p.on_delivered(transport.id_of(2), true, t0);
  EXPECT_EQ(p.figures().unacked, 0u);
  // The same ack again: published by this run, no longer held.
  report = p.on_ack(wire::Ack{{{2, 3}}});
  EXPECT_EQ(report.applied, 0);
  EXPECT_EQ(report.already_done, 2);
  EXPECT_TRUE(p.take_done().empty());
  for (const std::int64_t s : {1, 4, 5, 6}) p.on_delivered(transport.id_of(s), true, t0);
  EXPECT_EQ(p.pump(t0 + 11s, true), 4u);  // 1, 4, 5, 6: never acked, resent
}

TEST(Publisher, AFailedReadMarksNothingSentAndForgetsNoResend) {
  FakeRows rows;
  FakeTransport transport;
  Publisher p(opts(10, Delivery::committed), rows, transport);
  rows.add(4);
  p.on_connected();
  rows.fail_reads = true;
  EXPECT_EQ(p.pump(t0, true), 0u);
  EXPECT_EQ(p.figures().read_errors, 1);
  rows.fail_reads = false;
  EXPECT_EQ(p.pump(t0, true), 4u);
  EXPECT_EQ(transport.seqs(), iota(1, 4));
  // Seq 2 is due for a resend; the read fails; it is still resent once reads work.
  for (std::int64_t s = 1; s <= 4; ++s) p.on_delivered(transport.id_of(s), true, t0);
  p.on_ack(wire::Ack{{{1, 1}, {3, 4}}});
  rows.fail_reads = true;
  EXPECT_EQ(p.pump(t0 + 11s, true), 0u);
  rows.fail_reads = false;
  EXPECT_EQ(p.pump(t0 + 12s, true), 1u);
  EXPECT_EQ(transport.seqs(), (std::vector<std::int64_t>{1, 2, 3, 4, 2}));
}

TEST(Publisher, ARowTheClientRefusesForGoodIsQuarantinedAndHoldsBackNothing) {
  FakeRows rows;
  FakeTransport transport;
  Publisher p(opts(10), rows, transport);
  rows.add(5);
  transport.reject = {1, 3};
  p.on_connected();
  EXPECT_EQ(p.pump(t0, true), 3u);
  EXPECT_EQ(transport.seqs(), (std::vector<std::int64_t>{2, 4, 5}));
  ASSERT_EQ(rows.quarantined.size(), 2u);
  EXPECT_EQ(rows.quarantined[0], (std::pair<std::int64_t, std::string>{1, "topic is not UTF-8"}));
  EXPECT_EQ(p.figures().quarantined, 2);
  // A temporary refusal keeps the row queued, at its place.
  transport.reject.clear();
  transport.refuse = true;
  rows.add(1);
  EXPECT_EQ(p.pump(t0, true), 0u);
  transport.refuse = false;
  EXPECT_EQ(p.pump(t0, true), 1u);
  // When the dead-letter table cannot be written, the row stays queued too.
  rows.add(1);
  transport.reject = {7};
  rows.fail_quarantine = true;
  EXPECT_EQ(p.pump(t0, true), 0u);
  EXPECT_TRUE(p.has_work(true));
  rows.fail_quarantine = false;
  p.pump(t0, true);
  EXPECT_EQ(rows.quarantined.back().first, 7);
}

TEST(Publisher, ARowTheBrokerRefusesForGoodIsQuarantinedNotResent) {
  FakeRows rows;
  FakeTransport transport;
  Publisher p(opts(10, Delivery::committed), rows, transport);
  rows.add(3);
  p.on_connected();
  EXPECT_EQ(p.pump(t0, true), 3u);
  p.on_refused(transport.id_of(2), "refused by the broker (PUBACK reason 0x95)");
  ASSERT_EQ(rows.quarantined.size(), 1u);
  EXPECT_EQ(rows.quarantined[0].first, 2);
  EXPECT_EQ(p.figures().quarantined, 1);
  for (const std::int64_t s : {1, 3}) p.on_delivered(transport.id_of(s), true, t0);
  EXPECT_EQ(p.pump(t0 + 11s, true), 2u);  // 1 and 3 again (no ack); never 2
  EXPECT_EQ(transport.seqs(), (std::vector<std::int64_t>{1, 2, 3, 1, 3}));
  // An ack for the quarantined seq finds nothing held.
  EXPECT_EQ(p.on_ack(wire::Ack{{{2, 2}}}).applied, 0);
}

TEST(Publisher, CommittedDeliveryBoundsTheUnackedSamples) {
  FakeRows rows;
  FakeTransport transport;
  Options o = opts(4, Delivery::committed);
  o.max_unacked = 6;
  Publisher p(o, rows, transport);
  rows.add(20);
  p.on_connected();
  p.pump(t0, true);
  for (std::int64_t s = 1; s <= 4; ++s) p.on_delivered(transport.id_of(s), true, t0);
  EXPECT_EQ(p.pump(t0, true), 2u);
  EXPECT_EQ(p.pump(t0, true), 0u);
  p.on_ack(wire::Ack{{{1, 4}}});
  EXPECT_EQ(p.pump(t0, true), 2u);  // the window (4 in flight) is the limit now
}

TEST(Publisher, BrokerDeliveryIgnoresAcks) {
  FakeRows rows;
  FakeTransport transport;
  Publisher p(opts(10), rows, transport);
  rows.add(3);
  EXPECT_EQ(p.on_ack(wire::Ack{{{1, 3}}}).applied, 0);
  EXPECT_TRUE(p.take_done().empty());
  p.on_connected();
  EXPECT_EQ(p.pump(t0, true), 3u);
}

}  // namespace
}  // namespace streamtrack::testing
