// Topic escaping on arbitrary byte strings: escape_segment always makes one valid level that
// unescape_segment maps back to the same bytes; unescape_segment accepts only what
// escape_segment makes; a topic built from any names parses back to those names.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/wire/topics.hpp"
#include "common/wire/utf8.hpp"
#include "fuzz/fuzz_check.hpp"

using namespace streamtrack;

namespace {

bool is_one_valid_level(std::string_view level) {
  if (level.empty()) return false;
  for (std::size_t at = 0; at < level.size();) {
    const auto d = wire::utf8::decode_at(level, at);
    if (d.length == 0) return false;
    if (d.code_point == '/' || d.code_point == '+' || d.code_point == '#' || d.code_point == 0) {
      return false;
    }
    at += d.length;
  }
  return true;
}

// Splits the input into three names at the first two 0xFF bytes (0xFF never occurs in UTF-8,
// so names with any other byte, NUL included, stay reachable).
std::array<std::string_view, 3> three_names(std::string_view in) {
  std::array<std::string_view, 3> out{};
  for (std::size_t i = 0; i < 2; ++i) {
    const auto cut = in.find('\xFF');
    if (cut == std::string_view::npos) {
      out[i] = in;
      in = {};
      continue;
    }
    out[i] = in.substr(0, cut);
    in.remove_prefix(cut + 1);
  }
  out[2] = in;
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto input = fuzz::as_text(data, size);

  const auto escaped = wire::escape_segment(input);
  FUZZ_CHECK(is_one_valid_level(escaped), "escape_segment made something that is not one level");
  const auto back = wire::unescape_segment(escaped);
  FUZZ_CHECK(back.has_value(), "unescape_segment refused what escape_segment made");
  FUZZ_CHECK(*back == input, "escape -> unescape changed the bytes");

  if (const auto name = wire::unescape_segment(input)) {
    FUZZ_CHECK(wire::escape_segment(*name) == input,
               "unescape_segment accepted a segment escape_segment never makes");
  }

  const wire::Topics topics;
  const auto [agent, platform, channel] = three_names(input);
  // "alerts" is the collector's alert level, reserved: agent.toml refuses it as an agent id.
  if (agent != "alerts") {
    const auto parsed = topics.parse(topics.metrics(agent, platform, channel));
    FUZZ_CHECK(parsed.has_value(), "a metrics topic did not parse");
    FUZZ_CHECK(parsed->kind == wire::TopicKind::metrics, "a metrics topic parsed as another kind");
    FUZZ_CHECK(parsed->agent == agent && parsed->platform == platform && parsed->channel == channel,
               "a metrics topic parsed to other names");
  }

  if (const auto any = topics.parse(input)) {
    if (any->kind == wire::TopicKind::metrics) {
      FUZZ_CHECK(topics.metrics(any->agent, any->platform, any->channel) == input,
                 "a parsed metrics topic does not rebuild to itself");
    }
  }
  return 0;
}
