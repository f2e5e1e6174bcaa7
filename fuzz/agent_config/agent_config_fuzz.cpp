// agent.toml on arbitrary bytes: parse_agent_config either returns a configuration or throws
// config::ConfigError with messages; any other exception escapes and counts as a crash.
#include <cstddef>
#include <cstdint>

#include "agent/config/agent_config.hpp"
#include "fuzz/fuzz_check.hpp"

using namespace streamtrack;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto c = agent::parse_agent_config(fuzz::as_text(data, size), "agent.toml");
    FUZZ_CHECK(!c.id.empty(), "a configuration without an agent id");
  } catch (const config::ConfigError& e) {
    FUZZ_CHECK(e.what()[0] != '\0', "a ConfigError without a message");
  }
  return 0;
}
