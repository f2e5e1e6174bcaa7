// collector.toml on arbitrary bytes: parse_collector_config either returns a configuration or
// throws config::ConfigError with messages; any other exception escapes and counts as a crash.
#include <cstddef>
#include <cstdint>

#include "collector/config/collector_config.hpp"
#include "fuzz/fuzz_check.hpp"

using namespace streamtrack;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    (void)collector::parse_collector_config(fuzz::as_text(data, size), "collector.toml");
  } catch (const config::ConfigError& e) {
    FUZZ_CHECK(e.what()[0] != '\0', "a ConfigError without a message");
  }
  return 0;
}
