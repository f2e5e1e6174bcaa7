// The MediaMTX /v3/paths/list parser on arbitrary bytes.
#include <cstddef>
#include <cstdint>

#include "agent/sources/mediamtx/mediamtx.hpp"
#include "fuzz/fuzz_check.hpp"

using namespace streamtrack;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (const auto page = agent::sources::mediamtx::parse(fuzz::as_text(data, size))) {
    for (const auto& s : page->samples) {
      if (s.viewers) FUZZ_CHECK(*s.viewers >= 0, "negative readers");
    }
  }
  return 0;
}
