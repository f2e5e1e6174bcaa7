#include "collector/ingest/reject_log.hpp"

#include <gtest/gtest.h>

namespace streamtrack::collector::ingest {
namespace {

using namespace std::chrono_literals;
using Clock = RejectLog::Clock;
using Lines = std::vector<std::string>;

const Clock::time_point k_t0 = Clock::time_point{} + 1000h;

Item reject(const std::string& agent, const std::string& reason,
            const std::string& topic_kind = "frames") {
  Item item;
  item.kind = Item::Kind::reject;
  item.agent = agent;
  item.topic = "st/v1/" + agent + "/" + topic_kind;
  item.payload = "{\"seq\":1}";
  item.payload_bytes = 42;
  item.reason = reason;
  return item;
}

Item sample_item(const std::string& agent) {
  Item item;
  item.kind = Item::Kind::sample;
  item.agent = agent;
  item.topic = "st/v1/" + agent + "/frames";
  return item;
}

// A frame's worth of rejects of `agent`: reasons "bad 1", "bad 2", ...
std::vector<Item> frame(const std::string& agent, int rejects) {
  std::vector<Item> items;
  for (int i = 1; i <= rejects; ++i) items.push_back(reject(agent, "bad " + std::to_string(i)));
  return items;
}

TEST(RejectLog, AFrameOfAThousandRejectsIsOneLineWithTheCountAgentAndFirstReason) {
  RejectLog log;
  auto items = frame("rig", 1000);
  items.insert(items.begin(), sample_item("rig"));  // good elements do not count
  items.push_back(sample_item("rig"));
  EXPECT_EQ(log.record(items, k_t0),
            (Lines{"ingest: rejected agent=rig count=1000 topic=st/v1/rig/frames bytes=42 "
                   "reason=\"bad 1\""}));
}

TEST(RejectLog, AMessageWithoutRejectsGivesNoLine) {
  RejectLog log;
  const std::vector<Item> items{sample_item("rig"), sample_item("rig")};
  EXPECT_EQ(log.record(items, k_t0), Lines{});
  EXPECT_EQ(log.record({}, k_t0), Lines{});
  EXPECT_EQ(log.tracked_agents(), 0u);
}

TEST(RejectLog, HostileTextIsQuotedIntoOneLine) {
  RejectLog log;
  auto item = reject("r ig", "line\nbreak \"quoted\" key=value");
  item.topic = "st/v1/a=b c/frames";
  EXPECT_EQ(log.record(std::vector<Item>{item}, k_t0),
            (Lines{"ingest: rejected agent=\"r ig\" count=1 topic=\"st/v1/a=b c/frames\" "
                   "bytes=42 reason=\"line\\nbreak \\\"quoted\\\" key=value\""}));
}

TEST(RejectLog, ASteadyFloodIsOneLinePerAgentPerIntervalWithTheSuppressedCount) {
  RejectLog log({.interval = 10s});
  std::size_t lines = 0;
  Lines last;
  // 1,000 messages of 3 rejects each, one every 25 ms: 25 s of flood.
  for (int i = 0; i < 1000; ++i) {
    auto out = log.record(frame("rig", 3), k_t0 + i * 25ms);
    lines += out.size();
    if (!out.empty()) last = out;
  }
  // At 0 s, 10 s and 20 s.
  EXPECT_EQ(lines, 3u);
  // The line at 20 s: the 399 messages between the lines at 10 s and 20 s were held back.
  EXPECT_EQ(last, (Lines{"ingest: rejected agent=rig count=3 topic=st/v1/rig/frames bytes=42 "
                         "reason=\"bad 1\" suppressed=1197"}));
}

TEST(RejectLog, FlushReportsWhatWasHeldBackOnceTheIntervalEnds) {
  RejectLog log({.interval = 10s});
  ASSERT_EQ(log.record(frame("rig", 1), k_t0).size(), 1u);
  auto second = frame("rig", 5);
  second.front().reason = "first held";
  EXPECT_EQ(log.record(second, k_t0 + 1s), Lines{});
  EXPECT_EQ(log.record(frame("rig", 2), k_t0 + 2s), Lines{});
  EXPECT_EQ(log.flush(k_t0 + 9s), Lines{});  // the interval has not ended
  EXPECT_EQ(log.flush(k_t0 + 10s),
            (Lines{"ingest: rejects suppressed agent=rig suppressed=7 topic=st/v1/rig/frames "
                   "bytes=42 reason=\"first held\""}));
  EXPECT_EQ(log.flush(k_t0 + 11s), Lines{});  // reported once
  // The flush line was the agent's line of this interval.
  EXPECT_EQ(log.record(frame("rig", 1), k_t0 + 12s), Lines{});
  EXPECT_EQ(log.record(frame("rig", 1), k_t0 + 20s),
            (Lines{"ingest: rejected agent=rig count=1 topic=st/v1/rig/frames bytes=42 "
                   "reason=\"bad 1\" suppressed=1"}));
}

TEST(RejectLog, EachAgentHasItsOwnInterval) {
  RejectLog log({.interval = 10s});
  EXPECT_EQ(log.record(frame("a", 2), k_t0).size(), 1u);
  EXPECT_EQ(log.record(frame("b", 2), k_t0 + 1s),
            (Lines{"ingest: rejected agent=b count=2 topic=st/v1/b/frames bytes=42 "
                   "reason=\"bad 1\""}));
  EXPECT_EQ(log.record(frame("a", 2), k_t0 + 2s), Lines{});
  // One message with rejects of two agents (not something a frame carries, but any list).
  auto mixed = frame("c", 2);
  const auto d = frame("d", 1);
  mixed.insert(mixed.begin() + 1, d.begin(), d.end());
  EXPECT_EQ(log.record(mixed, k_t0 + 3s),
            (Lines{"ingest: rejected agent=c count=2 topic=st/v1/c/frames bytes=42 "
                   "reason=\"bad 1\"",
                   "ingest: rejected agent=d count=1 topic=st/v1/d/frames bytes=42 "
                   "reason=\"bad 1\""}));
}

TEST(RejectLog, ARejectWithoutAnAgentIsLoggedUnderTheEmptyAgent) {
  RejectLog log;
  auto item = reject("", "not a StreamTrack topic");
  item.topic = "elsewhere/x";
  EXPECT_EQ(log.record(std::vector<Item>{item}, k_t0),
            (Lines{"ingest: rejected agent=\"\" count=1 topic=elsewhere/x bytes=42 "
                   "reason=\"not a StreamTrack topic\""}));
  EXPECT_EQ(log.record(std::vector<Item>{item}, k_t0 + 1s), Lines{});
}

TEST(RejectLog, AFloodOfAgentNamesIsBoundedInMemoryAndLines) {
  // The global line limit out of the way: this is the per-agent bound (the global one is
  // AFloodUnderAThousandAgentNamesIsBoundedAcrossAgentsAndEveryRejectAccounted).
  RejectLog log({.interval = 10s, .max_agents = 100, .max_lines = 1000});
  std::size_t lines = 0;
  Lines untracked;
  for (int i = 0; i < 10'000; ++i) {
    const auto out = log.record(frame("forged-" + std::to_string(i), 1), k_t0 + i * 1ms);
    lines += out.size();
    for (const auto& line : out) {
      if (line.find("untracked") != std::string::npos) untracked.push_back(line);
    }
  }
  EXPECT_EQ(log.tracked_agents(), 100u);
  EXPECT_EQ(lines, 101u);  // each tracked agent once, all the others once together
  EXPECT_EQ(untracked, (Lines{"ingest: rejected from untracked agents agent=forged-100 count=1 "
                              "topic=st/v1/forged-100/frames bytes=42 reason=\"bad 1\""}));
  // The untracked rejects held back are reported when the interval ends, and agents quiet for
  // a whole interval are forgotten.
  EXPECT_EQ(log.flush(k_t0 + 10s + 10'000ms),
            (Lines{"ingest: rejects suppressed from untracked agents agent=forged-101 "
                   "suppressed=9899 topic=st/v1/forged-101/frames bytes=42 reason=\"bad 1\""}));
  EXPECT_EQ(log.tracked_agents(), 0u);
  EXPECT_EQ(log.flush(k_t0 + 40s), Lines{});
  // Once forgotten, an agent is logged again at once.
  EXPECT_EQ(log.record(frame("forged-5", 1), k_t0 + 41s).size(), 1u);
}

// The rejects a line accounts for: its count= and suppressed= figures.
std::uint64_t rejects_in(const std::string& line) {
  std::uint64_t total = 0;
  for (const char* key : {" count=", " suppressed="}) {
    if (const auto at = line.find(key); at != std::string::npos) {
      total += std::stoull(line.substr(at + std::char_traits<char>::length(key)));
    }
  }
  return total;
}

TEST(RejectLog, AFloodUnderAThousandAgentNamesIsBoundedAcrossAgentsAndEveryRejectAccounted) {
  // The default limits; 1,024 forged agent names (all tracked) each sending a bad message
  // every 100 ms for 30 s, the main loop flushing every second.
  RejectLog log;
  constexpr int k_agents = 1024;
  std::vector<std::vector<Item>> messages;
  for (int a = 0; a < k_agents; ++a) messages.push_back(frame("forged-" + std::to_string(a), 1));
  std::vector<std::size_t> lines_per_interval(5, 0);
  std::uint64_t accounted = 0;
  const auto take = [&](const Lines& lines, Clock::time_point at) {
    lines_per_interval[static_cast<std::size_t>((at - k_t0) / 10s)] += lines.size();
    for (const auto& line : lines) accounted += rejects_in(line);
  };
  std::uint64_t sent = 0;
  for (auto at = k_t0; at < k_t0 + 30s; at += 100ms) {
    for (const auto& message : messages) {
      take(log.record(message, at), at);
      ++sent;
    }
    if ((at - k_t0) % 1s == 0ms) take(log.flush(at), at);
  }
  for (auto at = k_t0 + 30s; at <= k_t0 + 45s; at += 1s) take(log.flush(at), at);
  // At most max_lines a interval, and one line saying what the limit held back.
  for (std::size_t i = 0; i < lines_per_interval.size(); ++i) {
    EXPECT_LE(lines_per_interval[i], RejectLog::Options{}.max_lines + 1) << "interval " << i;
  }
  EXPECT_GT(lines_per_interval[0], 0u);
  // Held back from the lines, never lost from them: every reject is in some line's figures.
  EXPECT_EQ(accounted, sent);
}

TEST(RejectLog, LinesBeyondTheGlobalLimitAreSummarisedOnceTheIntervalEnds) {
  RejectLog log({.interval = 10s, .max_agents = 100, .max_lines = 3});
  Lines lines;
  for (const char* agent : {"a", "b", "c", "d", "e"}) {
    for (auto& line : log.record(frame(agent, 2), k_t0)) lines.push_back(std::move(line));
  }
  EXPECT_EQ(lines, (Lines{"ingest: rejected agent=a count=2 topic=st/v1/a/frames bytes=42 "
                          "reason=\"bad 1\"",
                          "ingest: rejected agent=b count=2 topic=st/v1/b/frames bytes=42 "
                          "reason=\"bad 1\"",
                          "ingest: rejected agent=c count=2 topic=st/v1/c/frames bytes=42 "
                          "reason=\"bad 1\""}));
  // d and e had their line of this interval, though it was not printed: held per agent.
  EXPECT_EQ(log.record(frame("d", 1), k_t0 + 1s), Lines{});
  EXPECT_EQ(log.flush(k_t0 + 9s), Lines{});
  EXPECT_EQ(log.flush(k_t0 + 10s),
            (Lines{"ingest: rejects suppressed by the global limit lines=2 suppressed=4 agent=d "
                   "topic=st/v1/d/frames bytes=42 reason=\"bad 1\"",
                   "ingest: rejects suppressed agent=d suppressed=1 topic=st/v1/d/frames "
                   "bytes=42 reason=\"bad 1\""}));
  EXPECT_EQ(log.flush(k_t0 + 11s), Lines{});
  // A new interval has its own budget; its summary comes only if something was held back.
  EXPECT_EQ(log.record(frame("e", 1), k_t0 + 12s).size(), 1u);
  EXPECT_EQ(log.flush(k_t0 + 25s), Lines{});
}

}  // namespace
}  // namespace streamtrack::collector::ingest
