// The publisher with frames on: the backlog leaves as frames within their bounds, live samples
// and resends alone; a frame's PUBACK or the collector's per-seq acks release its samples.

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "agent/publish/publisher.hpp"
#include "common/wire/codec.hpp"
#include "common/wire/frame.hpp"
#include "common/wire/topics.hpp"

namespace streamtrack::testing {
namespace {

using agent::Delivery;
using agent::publish::Options;
using agent::publish::Publisher;
using agent::publish::Steady;
using namespace std::chrono_literals;
using Ranges = std::vector<std::pair<std::int64_t, std::int64_t>>;

const wire::Topics k_topics("st/v1");

Sample sample(std::int64_t seq, std::size_t title_bytes) {
  Sample s;
  s.agent = "rig";
  s.seq = seq;
  s.ts = TimePoint{} + std::chrono::hours{24 * 365 * 56} + std::chrono::milliseconds{seq};
  s.platform = "synthetic";
  s.channel = "c" + std::to_string(seq % 3);
  s.live = true;
  s.viewers = seq;
  if (title_bytes > 0) s.title = std::string(title_bytes, 't');
  return s;
}

class Rows final : public agent::publish::RowSource {
 public:
  // A row stored under another agent id (before the agent was renamed).
  void add_foreign() {
    ++m_last;
    auto s = sample(m_last, 0);
    s.agent = "old-name";
    m_rows[m_last] = agent::outbox::Row{m_last, k_topics.metrics("old-name", s.platform, s.channel),
                                        wire::encode_sample(s)};
  }
  // A row whose stored topic the client refuses (by default not UTF-8, as an older agent could
  // have written it).
  void add_bad_topic(const std::string& suffix = "\xFF") {
    add(1);
    m_rows[m_last].topic = k_topics.metrics("rig", "x", "y") + suffix;
  }
  void add(std::int64_t n, std::size_t title_bytes = 0) {
    for (std::int64_t i = 0; i < n; ++i) {
      ++m_last;
      const auto s = sample(m_last, title_bytes);
      m_rows[m_last] = agent::outbox::Row{m_last, k_topics.metrics("rig", s.platform, s.channel),
                                          wire::encode_sample(s)};
    }
  }
  Result<std::vector<agent::outbox::Row>> read(std::int64_t from, std::int64_t before,
                                               std::size_t limit) override {
    std::vector<agent::outbox::Row> out;
    for (auto it = m_rows.lower_bound(from);
         it != m_rows.end() && it->first < before && out.size() < limit; ++it) {
      out.push_back(it->second);
    }
    return out;
  }
  std::int64_t last_seq() const override { return m_last; }
  bool quarantine(std::int64_t seq, const std::string& reason) override {
    m_rows.erase(seq);
    quarantined.emplace_back(seq, reason);
    return true;
  }
  std::vector<std::pair<std::int64_t, std::string>> quarantined;

 private:
  std::map<std::int64_t, agent::outbox::Row> m_rows;
  std::int64_t m_last = 0;
};

// Decodes what it is given: a frame (on the frames topic) or a single sample.
class Transport final : public agent::publish::Transport {
 public:
  struct Sent {
    std::uint64_t id;
    bool frame;
    std::vector<std::int64_t> seqs;
    std::size_t bytes;
  };
  mqtt::PublishResult publish(const mqtt::Message& m) override {
    Sent out{0, m.topic == k_topics.frames("rig"), {}, m.payload.size()};
    if (out.frame) {
      const auto f = wire::decode_frame(m.payload);
      EXPECT_TRUE(f.ok()) << f.error();
      if (!f.ok()) return {mqtt::PublishResult::Kind::reject, 0, f.error()};
      EXPECT_EQ(f->agent, "rig");
      for (const auto& e : f->entries) {
        EXPECT_TRUE(e.sample.ok()) << e.sample.error();
        if (e.sample.ok()) out.seqs.push_back(e.sample->seq);
      }
    } else {
      const auto s = wire::decode_sample(m.payload);
      EXPECT_TRUE(s.ok()) << s.error();
      if (s.ok()) out.seqs.push_back(s->seq);
    }
    for (const auto seq : out.seqs) {
      if (reject.count(seq)) return {mqtt::PublishResult::Kind::reject, 0, "refused"};
    }
    out.id = ++m_next;
    sent.push_back(out);
    return {mqtt::PublishResult::Kind::sent, out.id, {}};
  }
  std::vector<std::vector<std::int64_t>> messages() const {
    std::vector<std::vector<std::int64_t>> out;
    for (const auto& s : sent) out.push_back(s.seqs);
    return out;
  }
  std::set<std::int64_t> reject;
  std::vector<Sent> sent;

 private:
  std::uint64_t m_next = 100;
};

Options opts(std::size_t window, Delivery delivery, std::size_t frame_samples) {
  Options o;
  o.max_inflight = window;
  o.delivery = delivery;
  o.ack_timeout = 10s;
  o.agent = "rig";
  o.frame_topic = k_topics.frames("rig");
  o.max_frame_samples = frame_samples;
  return o;
}

std::vector<std::int64_t> iota(std::int64_t from, std::int64_t to) {
  std::vector<std::int64_t> out;
  for (std::int64_t i = from; i <= to; ++i) out.push_back(i);
  return out;
}

const Steady::time_point t0{};

TEST(FramePublisher, TheBacklogLeavesAsFramesAndLiveSamplesAlone) {
  Rows rows;
  Transport transport;
  Publisher p(opts(100, Delivery::broker, 4), rows, transport);
  rows.add(10);
  p.on_connected();
  rows.add(3);  // live
  EXPECT_EQ(p.pump(t0, true), 13u);
  std::vector<std::vector<std::int64_t>> frames, alone;
  for (const auto& s : transport.sent) (s.frame ? frames : alone).push_back(s.seqs);
  EXPECT_EQ(frames, (std::vector<std::vector<std::int64_t>>{iota(1, 4), iota(5, 8), iota(9, 10)}));
  EXPECT_EQ(alone, (std::vector<std::vector<std::int64_t>>{{11}, {12}, {13}}));
  const auto f = p.figures();
  EXPECT_EQ(f.frames, 3);
  EXPECT_EQ(f.framed, 10);
  EXPECT_EQ(f.published, 13);
  EXPECT_EQ(f.inflight, 6u);  // three frames and three single samples
  EXPECT_FALSE(p.has_work(true));
}

TEST(FramePublisher, ALoneBacklogSampleGoesAloneOnItsMetricsTopic) {
  Rows rows;
  Transport transport;
  Publisher p(opts(100, Delivery::broker, 4), rows, transport);
  rows.add(1);
  p.on_connected();
  EXPECT_EQ(p.pump(t0, true), 1u);
  ASSERT_EQ(transport.sent.size(), 1u);
  EXPECT_FALSE(transport.sent[0].frame);
  EXPECT_EQ(p.figures().frames, 0);
}

TEST(FramePublisher, ARowStoredUnderAnotherAgentIdGoesAloneOnItsOwnTopic) {
  Rows rows;
  Transport transport;
  Publisher p(opts(100, Delivery::broker, 10), rows, transport);
  rows.add(3);
  rows.add_foreign();
  rows.add(2);
  p.on_connected();
  EXPECT_EQ(p.pump(t0, true), 6u);
  EXPECT_EQ(transport.messages(), (std::vector<std::vector<std::int64_t>>{{1, 2, 3}, {4}, {5, 6}}));
  EXPECT_FALSE(transport.sent[1].frame);
}

TEST(FramePublisher, ARowWithATopicTheClientRefusesIsNeverHiddenInAFrame) {
  Rows rows;
  Transport transport;
  Publisher p(opts(100, Delivery::broker, 10), rows, transport);
  rows.add(2);
  rows.add_bad_topic();
  rows.add(2);
  p.on_connected();
  p.pump(t0, true);
  // The fake takes any topic; what matters is that seq 3 went alone on its stored topic.
  EXPECT_EQ(transport.messages(), (std::vector<std::vector<std::int64_t>>{{1, 2}, {3}, {4, 5}}));
}

// The same for topics that are ASCII (checked without decoding) but hold a NUL or a wildcard.
TEST(FramePublisher, AnAsciiTopicWithANulOrAWildcardIsNeverHiddenInAFrame) {
  for (const std::string& suffix : {std::string("+"), std::string("#"), std::string(1, '\0')}) {
    Rows rows;
    Transport transport;
    Publisher p(opts(100, Delivery::broker, 10), rows, transport);
    rows.add(2);
    rows.add_bad_topic(suffix);
    rows.add(2);
    p.on_connected();
    p.pump(t0, true);
    EXPECT_EQ(transport.messages(), (std::vector<std::vector<std::int64_t>>{{1, 2}, {3}, {4, 5}}))
        << "topic suffix byte " << static_cast<int>(suffix[0]);
  }
}

TEST(FramePublisher, FramesOffSendsEverySampleAlone) {
  for (const std::size_t off : {0u, 1u}) {
    Rows rows;
    Transport transport;
    Publisher p(opts(100, Delivery::broker, off), rows, transport);
    rows.add(5);
    p.on_connected();
    EXPECT_EQ(p.pump(t0, true), 5u);
    for (const auto& s : transport.sent) EXPECT_FALSE(s.frame);
  }
}

TEST(FramePublisher, AFramesPubackReleasesAllItsSamplesUnderBrokerDelivery) {
  Rows rows;
  Transport transport;
  Publisher p(opts(100, Delivery::broker, 4), rows, transport);
  rows.add(8);
  p.on_connected();
  p.pump(t0, true);
  ASSERT_EQ(transport.sent.size(), 2u);
  EXPECT_TRUE(p.on_delivered(transport.sent[1].id, true, t0));
  EXPECT_EQ(p.take_done(), (Ranges{{5, 8}}));
  EXPECT_EQ(p.figures().inflight, 1u);  // the first frame still awaits its PUBACK
  EXPECT_TRUE(p.on_delivered(transport.sent[0].id, true, t0));
  EXPECT_FALSE(p.on_delivered(transport.sent[0].id, true, t0));  // one outcome per id
  EXPECT_EQ(p.take_done(), (Ranges{{1, 4}}));
  EXPECT_EQ(p.figures().inflight, 0u);
  EXPECT_EQ(p.figures().pubacks, 2);
}

TEST(FramePublisher, CommittedDeliveryAcksEachSeqAndResendsTheRestAloneAfterTheTimeout) {
  Rows rows;
  Transport transport;
  Publisher p(opts(100, Delivery::committed, 4), rows, transport);
  rows.add(4);
  p.on_connected();
  p.pump(t0, true);
  ASSERT_EQ(transport.sent.size(), 1u);
  p.on_delivered(transport.sent[0].id, true, t0);
  EXPECT_TRUE(p.take_done().empty());  // a PUBACK is not a commit
  const auto report = p.on_ack(wire::Ack{{{1, 2}, {4, 4}}});
  EXPECT_EQ(report.applied, 3);
  EXPECT_EQ(p.take_done(), (Ranges{{1, 2}, {4, 4}}));
  EXPECT_EQ(p.pump(t0 + 11s, true), 1u);
  ASSERT_EQ(transport.sent.size(), 2u);
  EXPECT_FALSE(transport.sent[1].frame);
  EXPECT_EQ(transport.sent[1].seqs, (std::vector<std::int64_t>{3}));
  EXPECT_EQ(p.figures().resent, 1);
  // A duplicate ack of a framed seq is only counted.
  EXPECT_EQ(p.on_ack(wire::Ack{{{1, 1}}}).already_done, 1);
}

TEST(FramePublisher, AFailedFrameIsSentAgainAsSingleSamples) {
  Rows rows;
  Transport transport;
  Publisher p(opts(100, Delivery::broker, 4), rows, transport);
  rows.add(3);
  p.on_connected();
  p.pump(t0, true);
  p.on_delivered(transport.sent[0].id, false, t0);
  EXPECT_EQ(p.pump(t0, true), 3u);
  EXPECT_EQ(transport.messages(),
            (std::vector<std::vector<std::int64_t>>{{1, 2, 3}, {1}, {2}, {3}}));
  EXPECT_EQ(p.figures().failures, 1);
}

TEST(FramePublisher, AFrameTheBrokerRefusesIsSentAgainAloneAndOnlyTheBadSampleIsQuarantined) {
  Rows rows;
  Transport transport;
  Publisher p(opts(100, Delivery::broker, 4), rows, transport);
  rows.add(3);
  p.on_connected();
  p.pump(t0, true);
  p.on_refused(transport.sent[0].id, "payload too large");
  EXPECT_TRUE(rows.quarantined.empty());
  transport.reject = {2};
  p.pump(t0, true);
  EXPECT_EQ(transport.messages(), (std::vector<std::vector<std::int64_t>>{{1, 2, 3}, {1}, {3}}));
  ASSERT_EQ(rows.quarantined.size(), 1u);
  EXPECT_EQ(rows.quarantined[0].first, 2);
}

TEST(FramePublisher, AFrameRefusedAtPublishFallsBackToSingleSamples) {
  Rows rows;
  Transport transport;
  Publisher p(opts(100, Delivery::broker, 4), rows, transport);
  rows.add(6);
  transport.reject = {3};
  p.on_connected();
  EXPECT_EQ(p.pump(t0, true), 5u);
  // The first frame (1-4) is refused: its samples go alone, 3 is quarantined; 5-6 frame.
  EXPECT_EQ(transport.messages(), (std::vector<std::vector<std::int64_t>>{{1}, {2}, {4}, {5, 6}}));
  ASSERT_EQ(rows.quarantined.size(), 1u);
  EXPECT_EQ(rows.quarantined[0].first, 3);
}

TEST(FramePublisher, FramesStayWithinTheirByteBoundAndATooLargeSampleGoesAlone) {
  Rows rows;
  Transport transport;
  auto o = opts(1000, Delivery::broker, 1000);
  o.max_frame_bytes = 4096;
  Publisher p(o, rows, transport);
  rows.add(40, 300);
  rows.add(1, 4000);  // alone, it exceeds a 4096-byte frame
  rows.add(10, 300);
  p.on_connected();
  EXPECT_EQ(p.pump(t0, true), 51u);
  std::vector<std::int64_t> order;
  for (const auto& s : transport.sent) {
    if (s.frame) {
      EXPECT_LE(s.bytes, 4096u);
      EXPECT_GE(s.seqs.size(), 2u);
    }
    order.insert(order.end(), s.seqs.begin(), s.seqs.end());
  }
  EXPECT_EQ(order, iota(1, 51));
  const auto big = std::find_if(transport.sent.begin(), transport.sent.end(),
                                [](const auto& s) { return s.seqs.front() == 41; });
  ASSERT_NE(big, transport.sent.end());
  EXPECT_FALSE(big->frame);
}

TEST(FramePublisher, AFrameIsOnePublishInTheWindowAndItsSamplesCountAsUnacked) {
  Rows rows;
  Transport transport;
  Publisher p(opts(2, Delivery::broker, 4), rows, transport);
  rows.add(20);
  p.on_connected();
  EXPECT_EQ(p.pump(t0, true), 8u);  // two frames of four
  EXPECT_FALSE(p.has_work(true));

  Rows rows2;
  Transport transport2;
  auto o = opts(100, Delivery::committed, 4);
  o.max_unacked = 6;
  Publisher q(o, rows2, transport2);
  rows2.add(20);
  q.on_connected();
  EXPECT_EQ(q.pump(t0, true), 6u);  // a frame of 4, then one of the 2 the window has room for
  EXPECT_EQ(transport2.messages(),
            (std::vector<std::vector<std::int64_t>>{iota(1, 4), iota(5, 6)}));
  EXPECT_FALSE(q.has_work(true));
  q.on_delivered(transport2.sent[0].id, true, t0);
  q.on_delivered(transport2.sent[1].id, true, t0);
  q.on_ack(wire::Ack{{{1, 6}}});
  EXPECT_EQ(q.pump(t0, true), 6u);
}

}  // namespace
}  // namespace streamtrack::testing
