#include "agent/sources/synthetic/synthetic.hpp"

#include <optional>

#include "agent/sources/source_config.hpp"

namespace streamtrack::agent::sources::synthetic {

namespace {

class ReadyPoll final : public Poll {
 public:
  explicit ReadyPoll(std::vector<Sample> samples) : m_samples(std::move(samples)) {}
  std::optional<http::Request> next_request() override { return std::nullopt; }
  void on_outcome(const http::Reply&, TimePoint) override {}
  PollResult result() override { return m_samples; }

 private:
  std::vector<Sample> m_samples;
};

}  // namespace

std::vector<Sample> make_round(const SyntheticOptions& options, std::int64_t round) {
  std::vector<Sample> out;
  out.reserve(static_cast<std::size_t>(options.channels));
  for (std::int64_t index = 0; index < options.channels; ++index) {
    const auto name = options.channel_prefix + std::to_string(index);
    // Small primes spread the figures; everything stays well inside the wire's ranges.
    const auto mix = options.seed * 7'919 + index * 104'729 + round * 31;
    Sample s;
    s.channel = name;
    s.live = true;
    s.stream_id = name + "-" + std::to_string(options.seed);
    s.title = "synthetic channel " + std::to_string(index);
    s.category = "Synthetic";
    s.viewers = mix % 100'000;
    s.chat_messages = mix % 50;
    s.chatters = mix % 20;
    s.bitrate_kbps = 2'500.0 + static_cast<double>(mix % 1'000);
    s.fps = 30.0;
    s.dropped_frames = round;
    s.width = 1'280;
    s.height = 720;
    s.video_codec = "H264";
    s.audio_codec = "AAC";
    out.push_back(std::move(s));
  }
  return out;
}

std::unique_ptr<Poll> SyntheticSource::start_poll() {
  if (m_options.rounds > 0 && m_round >= m_options.rounds) {
    return std::make_unique<ReadyPoll>(std::vector<Sample>{});
  }
  return std::make_unique<ReadyPoll>(make_round(m_options, m_round++));
}

namespace {

const config::TableSpec& spec() {
  using config::ValueType;
  static const SyntheticOptions defaults;
  static const config::TableSpec table = config::extend(
      source_common_spec(),
      {
          {.name = "channels",
           .type = ValueType::integer,
           .required = true,
           .description = "Channels per poll: each poll yields one sample per channel.",
           .min = 1,
           .max = 100'000},
          {.name = "channel_prefix",
           .default_value = defaults.channel_prefix,
           .description = "Channel names are <channel_prefix><index>, index from 0."},
          {.name = "seed",
           .type = ValueType::integer,
           .default_value = defaults.seed,
           .description = "Varies the generated figures and stream ids.",
           .min = 0,
           .max = 1'000'000'000},
          {.name = "rounds",
           .type = ValueType::integer,
           .default_value = defaults.rounds,
           .description = "Polls that yield samples; later polls yield none (0: no limit).",
           .min = 0},
      });
  return table;
}

std::unique_ptr<Source> create(const SourceConfig& source, const std::string&) {
  SyntheticOptions o;
  o.channels = source.section.integer("channels");
  o.channel_prefix = source.section.string("channel_prefix");
  o.seed = source.section.integer("seed");
  o.rounds = source.section.integer("rounds");
  return std::make_unique<SyntheticSource>(std::move(o));
}

}  // namespace

SourceTypeInfo source_type() {
  return {
      .type = "synthetic",
      .spec = &spec,
      .create = &create,
      .example = {
          .comment = "Synthetic: a load and test source, not a platform. Each poll yields one live "
                     "sample for each of `channels` channels (\"<channel_prefix><index>\", index "
                     "from 0) without any network I/O, so the agent produces channels / interval "
                     "samples per second. The figures are a pure function of seed, channel and "
                     "poll number; `rounds` limits the polls that yield samples (0: no limit). "
                     "Used by the fault suite (tests/faults/) and the soak runs (bench/soak/); do "
                     "not point it at a production collector.",
          .toml = "type = \"synthetic\"\nname = \"load\"\ninterval = \"1s\"\nchannels = 100\n"
                  "channel_prefix = \"synthetic-\"\nseed = 0\nrounds = 0\n"}};
}

}  // namespace streamtrack::agent::sources::synthetic
