#pragma once

// Helpers for tests that poll sources through the real engine against a local HTTP server.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "agent/config/agent_config.hpp"
#include "agent/engine/poll_engine.hpp"
#include "tests/support/harness.hpp"

namespace streamtrack::testing {

// An agent config with id "test-agent" and the given [[source]] tables.
inline agent::AgentConfig agent_config(const std::string& sources_toml) {
  return agent::parse_agent_config("[agent]\nid = \"test-agent\"\n\n" + sources_toml, "agent.toml");
}

// One [[source]] table; `extra` holds more lines (keys, or a [source.fields] table at the end).
inline std::string source_table(const std::string& type, const std::string& name,
                                const std::string& url, const std::string& extra = {},
                                const std::string& timeout = "5s") {
  return "[[source]]\ntype = \"" + type + "\"\nname = \"" + name + "\"\nurl = \"" + url +
         "\"\ninterval = \"1s\"\ntimeout = \"" + timeout + "\"\n" + extra + "\n";
}

struct PollOnce {
  std::vector<Sample> samples;
  std::vector<wire::SourceHealth> health;
  const wire::SourceHealth& only_health() const { return health.at(0); }
  bool ok() const {
    for (const auto& h : health) {
      if (h.consecutive_errors != 0 || h.polls != 1) return false;
    }
    return true;
  }
};

// Polls every source of `config` exactly once, as --once does.
inline PollOnce poll_once(const agent::AgentConfig& config) {
  agent::PollEngine engine(config, SystemClock::instance(),
                           agent::PollEngine::Options{.once = true});
  PollOnce out;
  const auto deadline = std::chrono::steady_clock::now() + k_event_timeout;
  while (!engine.finished() && std::chrono::steady_clock::now() < deadline) {
    for (auto& batch : engine.step(std::chrono::milliseconds{200})) {
      for (auto& s : batch) out.samples.push_back(std::move(s));
    }
  }
  EXPECT_TRUE(engine.finished()) << "poll did not finish";
  out.health = engine.health();
  return out;
}

inline std::string fixture(const std::string& relative) {
  return HttpFixtureServer::fixture(relative);
}

// The fixture served with the given content type.
inline HttpFixtureServer::Response fixture_response(const std::string& relative,
                                                    const std::string& content_type) {
  HttpFixtureServer::Response r;
  r.body = fixture(relative);
  r.content_type = content_type;
  return r;
}

inline const Sample* find_channel(const std::vector<Sample>& samples, const std::string& channel) {
  for (const auto& s : samples) {
    if (s.channel == channel) return &s;
  }
  return nullptr;
}

}  // namespace streamtrack::testing
