// The nginx-rtmp `rtmp_stat` XML parser on arbitrary bytes.
#include <cstddef>
#include <cstdint>

#include "agent/sources/nginx_rtmp/nginx_rtmp.hpp"
#include "fuzz/fuzz_check.hpp"
#include "fuzz/source_support.hpp"

using namespace streamtrack;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto now = fuzz::fixed_now();
  if (const auto samples = agent::sources::nginx_rtmp::parse(fuzz::as_text(data, size), now)) {
    for (const auto& s : *samples) {
      if (s.viewers) FUZZ_CHECK(*s.viewers >= 0, "negative viewers");
    }
  }
  return 0;
}
