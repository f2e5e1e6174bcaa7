// Everything the kick source reads: a /public/v1/channels answer and the token endpoint's.
#include <cstddef>
#include <cstdint>

#include "agent/sources/kick/kick.hpp"
#include "agent/sources/oauth/app_token.hpp"
#include "fuzz/fuzz_check.hpp"
#include "fuzz/source_support.hpp"

using namespace streamtrack;
using namespace streamtrack::agent::sources;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto body = fuzz::as_text(data, size);
  if (const auto samples = kick::parse_channels(body)) {
    for (const auto& s : *samples) FUZZ_CHECK(!s.channel.empty(), "a sample without a channel");
  }
  oauth::AppToken token("http://127.0.0.1/token", "id", "secret", std::chrono::seconds{10});
  if (!token.accept(agent::http::Outcome(fuzz::json_response(body)), fuzz::fixed_now())) {
    (void)token.current(fuzz::fixed_now());
  }
  return 0;
}
