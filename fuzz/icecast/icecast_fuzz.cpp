// The Icecast /status-json.xsl parser on arbitrary bytes.
#include <cstddef>
#include <cstdint>

#include "agent/sources/icecast/icecast.hpp"
#include "fuzz/fuzz_check.hpp"

using namespace streamtrack;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (const auto samples = agent::sources::icecast::parse(fuzz::as_text(data, size))) {
    for (const auto& s : *samples) {
      if (s.viewers) FUZZ_CHECK(*s.viewers >= 0, "negative listeners");
    }
  }
  return 0;
}
