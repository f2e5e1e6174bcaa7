#include <algorithm>
#include <iostream>

#include "agent/app.hpp"
#include "agent/engine/poll_engine.hpp"
#include "common/daemon/log.hpp"
#include "common/wire/codec.hpp"

namespace streamtrack::agent {

int run_once(const AgentConfig& config) {
  log::set_level(config.log_level);
  log::set_format(config.log_format);
  PollEngine engine(config, SystemClock::instance(), PollEngine::Options{.once = true});
  std::chrono::milliseconds longest{0};
  for (const auto& s : config.sources) longest = std::max(longest, s.timeout);
  // A backstop only: every request has its own timeout, but a poll may send several.
  const auto deadline = std::chrono::steady_clock::now() + longest * 4 + std::chrono::seconds(5);
  std::int64_t seq = 0;
  while (!engine.finished()) {
    if (std::chrono::steady_clock::now() > deadline) {
      log::error("--once: some sources did not finish in time");
      return 1;
    }
    for (auto& batch : engine.step(std::chrono::milliseconds{500})) {
      for (auto& sample : batch) {
        sample.seq = ++seq;
        std::cout << wire::encode_sample(sample) << "\n";
      }
    }
    std::cout.flush();
  }
  const auto health = engine.health();
  const bool all_ok = std::all_of(health.begin(), health.end(),
                                  [](const auto& h) { return h.consecutive_errors == 0; });
  return all_ok ? 0 : 1;
}

}  // namespace streamtrack::agent
