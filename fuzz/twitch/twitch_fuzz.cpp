// Everything the twitch source reads from Helix: a /streams page, the token endpoint's answer
// and the Ratelimit-* headers. No crash, no throw, no undefined behaviour.
#include <cstddef>
#include <cstdint>

#include "agent/sources/oauth/app_token.hpp"
#include "agent/sources/twitch/twitch.hpp"
#include "fuzz/fuzz_check.hpp"
#include "fuzz/source_support.hpp"

using namespace streamtrack;
using namespace streamtrack::agent::sources;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto body = fuzz::as_text(data, size);
  const auto now = fuzz::fixed_now();

  if (const auto page = twitch::parse_streams(body)) {
    for (const auto& s : page->live) FUZZ_CHECK(s.live, "a /streams entry is not live");
  }

  oauth::AppToken token("http://127.0.0.1/token", "id", "secret", std::chrono::seconds{10});
  if (!token.accept(agent::http::Outcome(fuzz::json_response(body)), now)) {
    FUZZ_CHECK(token.mints() == 1, "an accepted token was not counted");
    (void)token.current(now + std::chrono::hours{24 * 365});
  }

  twitch::RateLimit rate;
  auto headers = fuzz::json_response({});
  const auto value = std::string(body.substr(0, 64));
  headers.headers = {
      {"ratelimit-limit", value}, {"ratelimit-remaining", value}, {"ratelimit-reset", value}};
  rate.update(headers);
  (void)rate.blocked(now, 1);
  return 0;
}
