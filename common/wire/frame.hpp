#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/util/result.hpp"
#include "common/wire/sample.hpp"

// Frames: several samples of one agent in one MQTT message, on <root>/<agent>/frames
// (docs/mqtt.md, docs/frame.schema.json):
//   {"frame":1,"agent":"rig-1","samples":[<sample>,<sample>,...]}
// Each element of "samples" is a complete sample payload, decoded, deduplicated and
// acknowledged on its own: one bad element is refused alone, the others stand.
namespace streamtrack::wire {

inline constexpr int k_frame_version = 1;
// A frame payload is at most this many bytes and carries at most this many samples. Agents
// never exceed either; readers refuse a larger frame whole.
inline constexpr std::size_t k_max_frame_bytes = std::size_t{256} * 1024;
inline constexpr std::size_t k_max_frame_samples = 1000;

// One element of a frame's "samples", decoded on its own.
struct FrameEntry {
  std::size_t index = 0;  // position in "samples"
  // The element's bytes in the frame, exactly as the agent sent them: the same sample a
  // single-sample message would carry (decode_sample(text) gives the same verdict), kept with
  // a reject.
  std::string text;
  // The sample, or why this element is refused: decode_sample's reason for `text` (the same a
  // single-sample message would get), or the element is of another agent than the frame's, or
  // an earlier element of the frame has the same seq.
  Result<Sample> sample;
};

struct Frame {
  std::string agent;
  std::vector<FrameEntry> entries;  // in the order of "samples", at least one
};

// Decodes a frame. Refuses the whole frame, with one reason, when it is over
// k_max_frame_bytes, not a JSON object (truncated, invalid), has no supported "frame" version,
// no valid "agent", or "samples" is not an array of 1 to k_max_frame_samples elements.
// Otherwise every element gets its own verdict. Never throws.
Result<Frame> decode_frame(std::string_view payload);

// Builds a frame from samples already encoded by encode_sample, within bounds the builder
// never exceeds: at most min(max_bytes, k_max_frame_bytes) bytes and min(max_samples,
// k_max_frame_samples) samples.
class FrameBuilder {
 public:
  // Precondition: `agent` is valid UTF-8 (make_text_valid), as every agent id sent is.
  explicit FrameBuilder(std::string_view agent, std::size_t max_bytes = k_max_frame_bytes,
                        std::size_t max_samples = k_max_frame_samples);

  // Appends one encoded sample when the frame stays within its bounds; false (nothing added)
  // otherwise.
  bool add(std::string_view sample_payload);
  std::size_t samples() const { return m_samples; }
  // The size of the payload finish() returns now.
  std::size_t bytes() const { return m_text.size() + 2; }
  // The frame payload; the builder is empty again afterwards (same agent and bounds).
  std::string finish();
  // The same into `out`, whose previous buffer the builder keeps for the next frame: a caller
  // that passes the same string each time allocates nothing once both buffers have grown.
  void finish_into(std::string& out);
  // Drops the samples added since the last finish.
  void clear();

 private:
  std::string m_head;  // {"frame":1,"agent":...,"samples":[
  std::string m_text;  // m_head and the samples added
  std::size_t m_samples = 0;
  std::size_t m_max_bytes;
  std::size_t m_max_samples;
};

}  // namespace streamtrack::wire
