#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "common/util/time.hpp"
#include "common/wire/codec.hpp"

// What the alert engine has observed, as its evaluators read it: each channel, each agent, and
// the collector itself. Written only by AlertEngine, under its lock.
namespace streamtrack::collector::alerts {

// The collector's view of itself at one instant. Counters are cumulative since start; absent
// fields are unknown (the matching rules keep their state).
struct CollectorObservation {
  std::uint64_t samples = 0;                // samples committed
  std::uint64_t rejects = 0;                // messages refused (decode or database)
  std::optional<double> write_latency_s{};  // slowest batch write since the last observation
  std::optional<bool> postgres_up{};
  std::optional<double> memory_percent{};  // resident memory in % of the limit
  std::optional<std::int64_t> default_partition_rows{};
  // Monthly partitions missing for the current month and the next (maintenance failing).
  std::optional<std::int64_t> missing_partitions{};
};

struct ValuePoint {
  TimePoint ts;
  double value;
};

struct FramePoint {
  TimePoint ts;
  std::int64_t dropped;  // cumulative
  double fps;
};

// Two cumulative counters at one instant: everything, and the bad part of it (polls and
// failed polls, messages and refused messages).
struct CounterPoint {
  TimePoint ts;
  double total;
  double bad;
};

struct ChannelHistory {
  std::string platform;
  std::string channel;
  std::string agent;
  TimePoint first_ts{};  // sample time of the first sample seen
  TimePoint last_ts{};   // sample time of the newest sample
  TimePoint last_received{};
  bool live = false;
  bool seen_live = false;
  std::optional<double> bitrate;
  std::deque<ValuePoint> viewers;
  std::deque<FramePoint> frames;
};

struct AgentHistory {
  std::optional<std::string> state;
  std::optional<std::string> reason;
  TimePoint last_seen{};
  std::optional<wire::Health> health;
  std::map<std::string, std::deque<CounterPoint>> polls;  // per source
};

struct CollectorHistory {
  std::deque<CounterPoint> ingest;  // samples + rejects, rejects
  std::optional<CollectorObservation> last;
};

struct History {
  std::map<std::pair<std::string, std::string>, ChannelHistory> channels;  // by platform, channel
  std::map<std::string, AgentHistory> agents;
  CollectorHistory self;
};

}  // namespace streamtrack::collector::alerts
