#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agent/config/agent_config.hpp"
#include "agent/sources/source.hpp"
#include "agent/sources/source_type.hpp"
#include "common/config/schema.hpp"

// `synthetic`: a load and test source. Every poll yields one sample for each of `channels`
// channels without any network I/O, so an agent produces channels / interval samples per
// second for load tests, soak runs and the fault suite (tests/faults/) with no stream server.
// The content is a pure function of (seed, channel index, poll number): two agents with the
// same settings produce the same figures, round after round.
namespace streamtrack::agent::sources::synthetic {

// Its defaults are those of the [[source]] keys: spec() reads them from here.
struct SyntheticOptions {
  std::int64_t channels = 1;
  std::string channel_prefix = "synthetic-";
  std::int64_t seed = 0;
  // Polls that yield samples; later polls succeed with none (a bounded load). 0: no limit.
  std::int64_t rounds = 0;
};

// The samples of poll number `round` (0 for the first poll): channel "<prefix><index>" for
// index 0 .. channels-1, always live, with stream_id "<prefix><index>-<seed>", a fixed title
// and category and figures that vary with the round.
std::vector<Sample> make_round(const SyntheticOptions& options, std::int64_t round);

class SyntheticSource final : public Source {
 public:
  explicit SyntheticSource(SyntheticOptions options) : m_options(std::move(options)) {}
  // A poll that sends no request; its result is make_round() of the next round, or no
  // samples once `rounds` rounds were made.
  std::unique_ptr<Poll> start_poll() override;

 private:
  SyntheticOptions m_options;
  std::int64_t m_round = 0;
};

// The `synthetic` entry of the source registry: its keys, factory and `config example` entry.
SourceTypeInfo source_type();

}  // namespace streamtrack::agent::sources::synthetic
