// The synthetic load source: K channels per poll, deterministic content, no network.
#include "agent/sources/synthetic/synthetic.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "agent/sources/registry.hpp"
#include "common/config/schema.hpp"
#include "common/wire/codec.hpp"
#include "tests/agent/sources/poll_once.hpp"

namespace streamtrack::testing {
namespace {

using agent::sources::synthetic::make_round;
using agent::sources::synthetic::SyntheticOptions;
using ::testing::ElementsAre;

std::string synthetic_table(const std::string& extra) {
  return "[[source]]\ntype = \"synthetic\"\nname = \"load\"\ninterval = \"100ms\"\n" + extra;
}

std::vector<std::string> config_errors(const std::string& sources_toml) {
  try {
    agent_config(sources_toml);
  } catch (const config::ConfigError& e) {
    return e.messages();
  }
  return {};
}

TEST(SyntheticSource, OneLiveSamplePerChannelWithDistinctNames) {
  SyntheticOptions o;
  o.channels = 5;
  o.channel_prefix = "ch-";
  const auto round = make_round(o, 0);
  ASSERT_EQ(round.size(), 5u);
  std::set<std::string> names;
  for (const auto& s : round) {
    names.insert(s.channel);
    EXPECT_TRUE(s.live);
    ASSERT_TRUE(s.viewers.has_value());
    EXPECT_GE(*s.viewers, 0);
  }
  EXPECT_EQ(names, (std::set<std::string>{"ch-0", "ch-1", "ch-2", "ch-3", "ch-4"}));
  EXPECT_EQ(round[3].stream_id, "ch-3-0");
  EXPECT_EQ(round[3].title, "synthetic channel 3");
}

TEST(SyntheticSource, ContentIsAFunctionOfSeedChannelAndRound) {
  SyntheticOptions o;
  o.channels = 3;
  o.seed = 42;
  EXPECT_EQ(make_round(o, 7), make_round(o, 7));
  EXPECT_NE(make_round(o, 7), make_round(o, 8));
  SyntheticOptions other = o;
  other.seed = 43;
  EXPECT_NE(make_round(o, 7), make_round(other, 7));
}

TEST(SyntheticSource, EverySampleSurvivesTheWire) {
  SyntheticOptions o;
  o.channels = 20;
  o.seed = 1'000'000'000;
  for (std::int64_t round : {std::int64_t{0}, std::int64_t{1}, std::int64_t{1} << 40}) {
    for (auto s : make_round(o, round)) {
      s.agent = "a";
      s.seq = 1;
      s.platform = "synthetic";
      s.ts = *parse_rfc3339("2030-01-01T00:00:00Z");
      const auto decoded = wire::decode_sample(wire::encode_sample(s));
      ASSERT_TRUE(decoded) << decoded.error();
      EXPECT_EQ(*decoded, s);
    }
  }
}

TEST(SyntheticSource, SuccessivePollsAdvanceTheRoundWithoutNetwork) {
  auto config = agent_config(synthetic_table("channels = 4\nseed = 9\n"));
  auto source = agent::find_source_type("synthetic")->create(config.sources.at(0), config.path);
  SyntheticOptions o;
  o.channels = 4;
  o.seed = 9;
  for (std::int64_t round = 0; round < 3; ++round) {
    auto poll = source->start_poll();
    EXPECT_FALSE(poll->next_request().has_value());
    auto result = poll->result();
    ASSERT_TRUE(result) << result.error();
    EXPECT_EQ(*result, make_round(o, round));
  }
}

TEST(SyntheticSource, AfterItsRoundsPollsSucceedWithNoSamples) {
  auto config = agent_config(synthetic_table("channels = 2\nrounds = 2\n"));
  auto source = agent::find_source_type("synthetic")->create(config.sources.at(0), config.path);
  std::vector<std::size_t> sizes;
  for (int i = 0; i < 4; ++i) {
    auto poll = source->start_poll();
    auto result = poll->result();
    ASSERT_TRUE(result) << result.error();
    sizes.push_back(result->size());
  }
  EXPECT_EQ(sizes, (std::vector<std::size_t>{2, 2, 0, 0}));
}

TEST(SyntheticSource, ThroughTheEngineSamplesAreStampedWithPlatformSynthetic) {
  const auto out = poll_once(agent_config(synthetic_table("channels = 3\n")));
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out.samples.size(), 3u);
  for (const auto& s : out.samples) {
    EXPECT_EQ(s.platform, "synthetic");
    EXPECT_EQ(s.agent, "test-agent");
  }
  EXPECT_EQ(out.samples[0].channel, "synthetic-0");
}

TEST(SyntheticSource, ConfigErrorsNameTheKey) {
  EXPECT_THAT(config_errors(synthetic_table("")),
              ElementsAre("agent.toml:4:1: source \"load\": channels: required key is missing"));
  EXPECT_THAT(config_errors(synthetic_table("channels = 0\n")),
              ElementsAre("agent.toml:8:12: source \"load\": channels: must be at least 1, got 0"));
  EXPECT_THAT(
      config_errors(synthetic_table("channels = 2\nurl = \"http://127.0.0.1/\"\n")),
      ElementsAre(::testing::StartsWith("agent.toml:9:1: source \"load\": url: unknown key")));
}

}  // namespace
}  // namespace streamtrack::testing
