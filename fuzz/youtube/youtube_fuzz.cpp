// Everything the youtube source reads: videos.list, search.list and Google error bodies.
#include <cstddef>
#include <cstdint>

#include "agent/sources/youtube/youtube.hpp"
#include "fuzz/fuzz_check.hpp"

using namespace streamtrack;
using namespace streamtrack::agent::sources;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto body = fuzz::as_text(data, size);
  if (const auto videos = youtube::parse_videos(body)) {
    for (const auto& v : *videos) {
      if (v.viewers) FUZZ_CHECK(*v.viewers >= 0, "negative concurrentViewers accepted");
    }
  }
  if (const auto ids = youtube::parse_search(body)) {
    for (const auto& id : *ids) FUZZ_CHECK(!id.empty(), "an empty video id");
  }
  (void)youtube::error_reason(body);
  return 0;
}
