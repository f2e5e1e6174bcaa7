#include "common/wire/frame.hpp"

#include <algorithm>
#include <unordered_map>

#include "common/wire/codec.hpp"
#include "common/wire/json_fields.hpp"

namespace streamtrack::wire {

using namespace detail;

namespace {

FrameEntry refused(std::size_t index, std::string text, const std::string& reason) {
  return FrameEntry{index, std::move(text), Result<Sample>::failure(reason)};
}

}  // namespace

Result<Frame> decode_frame(std::string_view payload) {
  auto doc = parse_object(payload, k_max_frame_bytes);
  if (!doc) return Result<Frame>::failure("frame: " + doc.error());
  FieldReader r(*doc);
  const auto version = r.integer("frame", true, 0, k_max_safe_integer);
  if (version && *version != k_frame_version) {
    r.field_fail("frame", "unsupported version " + std::to_string(*version) + " (expected " +
                              std::to_string(k_frame_version) + ")");
  }
  Frame frame;
  frame.agent = r.string("agent", true, k_max_name_bytes, false).value_or("");
  const json* samples = r.find("samples", true);
  if (samples && !r.failed()) {
    if (!samples->is_array()) {
      r.field_fail("samples", std::string("expected an array, got ") + json_type_name(*samples));
    } else if (samples->empty()) {
      r.field_fail("samples", "empty (a frame carries at least one sample)");
    } else if (samples->size() > k_max_frame_samples) {
      r.field_fail("samples", "too many: " + std::to_string(samples->size()) + " (limit " +
                                  std::to_string(k_max_frame_samples) + ")");
    }
  }
  if (r.failed()) return Result<Frame>::failure("frame: " + r.error());

  frame.entries.reserve(samples->size());
  std::unordered_map<std::int64_t, std::size_t> first_with_seq;
  for (std::size_t i = 0; i < samples->size(); ++i) {
    const json& element = (*samples)[i];
    auto text = element.dump(-1, ' ', false, json::error_handler_t::replace);
    if (!element.is_object()) {
      frame.entries.push_back(
          refused(i, std::move(text),
                  std::string("expected a JSON object, got ") + json_type_name(element)));
      continue;
    }
    // As large as a single-sample message may be, or it would be refused alone.
    if (text.size() > k_max_payload_bytes) {
      const auto bytes = text.size();
      frame.entries.push_back(refused(i, std::move(text),
                                      "payload too large: " + std::to_string(bytes) +
                                          " bytes (limit " + std::to_string(k_max_payload_bytes) +
                                          ")"));
      continue;
    }
    auto sample = sample_from_json(element);
    if (!sample) {
      frame.entries.push_back(refused(i, std::move(text), sample.error()));
      continue;
    }
    if (sample->agent != frame.agent) {
      frame.entries.push_back(refused(
          i, std::move(text),
          "agent \"" + sample->agent + "\" is not the frame's agent \"" + frame.agent + "\""));
      continue;
    }
    const auto [it, inserted] = first_with_seq.emplace(sample->seq, i);
    if (!inserted) {
      frame.entries.push_back(refused(i, std::move(text),
                                      "seq " + std::to_string(sample->seq) + " repeats samples[" +
                                          std::to_string(it->second) + "]"));
      continue;
    }
    frame.entries.push_back(FrameEntry{i, std::move(text), std::move(sample)});
  }
  return frame;
}

FrameBuilder::FrameBuilder(std::string_view agent, std::size_t max_bytes, std::size_t max_samples)
    : m_max_bytes(std::min(max_bytes, k_max_frame_bytes)),
      m_max_samples(std::min(max_samples, k_max_frame_samples)) {
  m_head = "{\"frame\":" + std::to_string(k_frame_version) + ",\"agent\":" +
           json(std::string(agent)).dump(-1, ' ', false, json::error_handler_t::replace) +
           ",\"samples\":[";
}

bool FrameBuilder::add(std::string_view sample_payload) {
  const std::size_t separator = m_samples > 0 ? 1 : 0;
  if (m_samples >= m_max_samples || bytes() + separator + sample_payload.size() > m_max_bytes) {
    return false;
  }
  if (separator) m_body += ',';
  m_body.append(sample_payload);
  ++m_samples;
  return true;
}

std::string FrameBuilder::finish() {
  std::string out;
  out.reserve(bytes());
  out += m_head;
  out += m_body;
  out += "]}";
  m_body.clear();
  m_samples = 0;
  return out;
}

}  // namespace streamtrack::wire
