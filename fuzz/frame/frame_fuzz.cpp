// The frame decoder on arbitrary bytes: it may not crash or throw; each element's text is its
// own bytes in the frame (it parses to the element of the frame's parsed tree); every element
// gets the verdict it alone would get (but for the reasons only a frame can give: another
// agent, a repeated seq), and the accepted samples survive FrameBuilder -> decode_frame
// unchanged and in order.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/wire/codec.hpp"
#include "common/wire/frame.hpp"
#include "fuzz/fuzz_check.hpp"

using namespace streamtrack;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto payload = fuzz::as_text(data, size);
  const auto frame = wire::decode_frame(payload);
  if (!frame) return 0;
  FUZZ_CHECK(!frame->entries.empty(), "a frame decoded without samples");
  FUZZ_CHECK(frame->entries.size() <= wire::k_max_frame_samples, "a frame over the sample bound");

  // The frame decodes without a tree; nlohmann's tree of the same bytes is the reference.
  const auto tree = nlohmann::json::parse(payload, nullptr, false);
  FUZZ_CHECK(!tree.is_discarded() && tree.is_object(), "a frame decoded that json::parse refuses");
  const auto& elements = tree.at("samples");
  FUZZ_CHECK(elements.size() == frame->entries.size(), "elements lost or invented");
  for (std::size_t i = 0; i < frame->entries.size(); ++i) {
    const auto& entry = frame->entries[i];
    const auto text = nlohmann::json::parse(entry.text, nullptr, false);
    FUZZ_CHECK(!text.is_discarded() && text == elements[i], "an element's text is not its bytes");
    if (entry.sample) continue;
    const auto& reason = entry.sample.error();
    const bool frame_only = reason.rfind("agent \"", 0) == 0 || reason.rfind("seq ", 0) == 0;
    if (!frame_only) {
      const auto alone = wire::decode_sample(entry.text);
      FUZZ_CHECK(!alone.ok() && alone.error() == reason, "an element is refused differently alone");
    }
  }

  std::vector<Sample> accepted;
  for (const auto& entry : frame->entries) {
    if (!entry.sample) continue;
    const auto alone = wire::decode_sample(entry.text);
    FUZZ_CHECK(alone.ok(), "an element accepted in a frame is refused alone");
    FUZZ_CHECK(*alone == *entry.sample, "an element decodes differently alone");
    FUZZ_CHECK(entry.sample->agent == frame->agent, "an element of another agent was accepted");
    accepted.push_back(*entry.sample);
  }
  if (accepted.empty()) return 0;

  wire::FrameBuilder builder(frame->agent);
  std::size_t added = 0;
  while (added < accepted.size() && builder.add(wire::encode_sample(accepted[added]))) ++added;
  if (added == 0) return 0;
  const auto bytes = builder.bytes();
  const auto encoded = builder.finish();
  FUZZ_CHECK(encoded.size() == bytes, "FrameBuilder::bytes() differs from its payload");
  FUZZ_CHECK(encoded.size() <= wire::k_max_frame_bytes, "FrameBuilder exceeded the byte bound");
  const auto again = wire::decode_frame(encoded);
  FUZZ_CHECK(again.ok(), "a built frame does not decode");
  FUZZ_CHECK(again->agent == frame->agent, "the agent changed across build -> decode");
  FUZZ_CHECK(again->entries.size() == added, "samples lost across build -> decode");
  for (std::size_t i = 0; i < added; ++i) {
    FUZZ_CHECK(again->entries[i].sample.ok(), "a built sample was refused");
    FUZZ_CHECK(*again->entries[i].sample == accepted[i], "a sample changed across build -> decode");
  }
  return 0;
}
