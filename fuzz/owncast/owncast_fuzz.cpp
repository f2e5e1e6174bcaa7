// The Owncast /api/status parser on arbitrary bytes.
#include <cstddef>
#include <cstdint>

#include "agent/sources/owncast/owncast.hpp"
#include "fuzz/fuzz_check.hpp"

using namespace streamtrack;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (const auto samples = agent::sources::owncast::parse(fuzz::as_text(data, size), "main")) {
    FUZZ_CHECK(samples->size() == 1, "owncast yields exactly one sample");
    FUZZ_CHECK(samples->front().channel == "main", "the sample is not for the channel asked");
  }
  return 0;
}
