#include "common/wire/frame.hpp"

#include <algorithm>
#include <utility>

#include "common/wire/codec.hpp"
#include "common/wire/json_fields.hpp"
#include "common/wire/sax_reader.hpp"

namespace streamtrack::wire {

using namespace detail;

namespace {

FrameEntry refused(std::size_t index, std::string_view text, const std::string& reason) {
  return FrameEntry{index, std::string(text), Result<Sample>::failure(reason)};
}

constexpr std::string_view k_frame_keys[] = {"frame", "agent", "samples"};

// The first element of each seq among the accepted ones: a later element with the same seq is
// refused as a repeat. Frames come in seq order, so this is one pass over a sorted vector.
class SeqRepeats {
 public:
  explicit SeqRepeats(std::size_t capacity) { m_seen.reserve(capacity); }
  void add(std::int64_t seq, std::size_t index) { m_seen.emplace_back(seq, index); }
  // For each element index, the index of the first element with the same seq when that is an
  // earlier one.
  std::vector<std::pair<std::size_t, std::size_t>> repeats() {
    std::sort(m_seen.begin(), m_seen.end());
    std::vector<std::pair<std::size_t, std::size_t>> out;
    std::size_t first = 0;
    for (std::size_t i = 1; i < m_seen.size(); ++i) {
      if (m_seen[i].first != m_seen[first].first) {
        first = i;
      } else {
        out.emplace_back(m_seen[i].second, m_seen[first].second);
      }
    }
    return out;
  }

 private:
  std::vector<std::pair<std::int64_t, std::size_t>> m_seen;
};

}  // namespace

Result<Frame> decode_frame(std::string_view payload) {
  if (auto problem = payload_problem(payload, k_max_frame_bytes)) {
    return Result<Frame>::failure("frame: " + *problem);
  }
  FlatObject root(k_frame_keys);
  FlatObject element(sample_keys());
  auto read = sax_read(payload, root, "samples", &element, k_max_frame_samples);
  if (read.error) return Result<Frame>::failure("frame: " + *read.error);
  if (read.root_type != json::value_t::object) {
    return Result<Frame>::failure(std::string("frame: expected a JSON object, got ") +
                                  json_type_name(read.root_type));
  }
  BasicFieldReader<FlatObject> r(root);
  const auto version = r.integer("frame", true, 0, k_max_safe_integer);
  if (version && *version != k_frame_version) {
    r.field_fail("frame", "unsupported version " + std::to_string(*version) + " (expected " +
                              std::to_string(k_frame_version) + ")");
  }
  Frame frame;
  frame.agent = r.string("agent", true, k_max_name_bytes, false).value_or("");
  const FlatValue* samples = r.find("samples", true);
  if (samples && !r.failed()) {
    if (samples->type != json::value_t::array) {
      r.field_fail("samples",
                   std::string("expected an array, got ") + json_type_name(samples->type));
    } else if (read.elements == 0) {
      r.field_fail("samples", "empty (a frame carries at least one sample)");
    } else if (read.elements > k_max_frame_samples) {
      r.field_fail("samples", "too many: " + std::to_string(read.elements) + " (limit " +
                                  std::to_string(k_max_frame_samples) + ")");
    }
  }
  if (r.failed()) return Result<Frame>::failure("frame: " + r.error());

  // Each element's verdict, in the order a single-sample message's checks come: JSON object,
  // size, fields (sax_read), then what only a frame can get wrong: its agent, a repeated seq.
  auto& reads = read.element_reads;
  frame.entries.reserve(reads.size());
  SeqRepeats seqs(reads.size());
  for (std::size_t i = 0; i < reads.size(); ++i) {
    auto& element_read = reads[i];
    const auto text = payload.substr(element_read.begin, element_read.end - element_read.begin);
    if (element_read.type != json::value_t::object) {
      frame.entries.push_back(
          refused(i, text,
                  std::string("expected a JSON object, got ") + json_type_name(element_read.type)));
      continue;
    }
    // As large as a single-sample message may be, or it would be refused alone.
    if (text.size() > k_max_payload_bytes) {
      frame.entries.push_back(refused(i, text,
                                      "payload too large: " + std::to_string(text.size()) +
                                          " bytes (limit " + std::to_string(k_max_payload_bytes) +
                                          ")"));
      continue;
    }
    auto& sample = *element_read.sample;
    if (!sample) {
      frame.entries.push_back(refused(i, text, sample.error()));
      continue;
    }
    if (sample->agent != frame.agent) {
      frame.entries.push_back(refused(
          i, text,
          "agent \"" + sample->agent + "\" is not the frame's agent \"" + frame.agent + "\""));
      continue;
    }
    seqs.add(sample->seq, i);
    frame.entries.push_back(FrameEntry{i, std::string(text), std::move(sample)});
  }
  for (const auto& [index, first] : seqs.repeats()) {
    auto& entry = frame.entries[index];
    auto reason = "seq " + std::to_string(entry.sample->seq) + " repeats samples[" +
                  std::to_string(first) + "]";
    entry.sample = Result<Sample>::failure(std::move(reason));
  }
  return frame;
}

FrameBuilder::FrameBuilder(std::string_view agent, std::size_t max_bytes, std::size_t max_samples)
    : m_max_bytes(std::min(max_bytes, k_max_frame_bytes)),
      m_max_samples(std::min(max_samples, k_max_frame_samples)) {
  m_head = "{\"frame\":" + std::to_string(k_frame_version) + ",\"agent\":" +
           json(std::string(agent)).dump(-1, ' ', false, json::error_handler_t::replace) +
           ",\"samples\":[";
  m_text = m_head;
}

bool FrameBuilder::add(std::string_view sample_payload) {
  const std::size_t separator = m_samples > 0 ? 1 : 0;
  if (m_samples >= m_max_samples || bytes() + separator + sample_payload.size() > m_max_bytes) {
    return false;
  }
  if (separator) m_text += ',';
  m_text.append(sample_payload);
  ++m_samples;
  return true;
}

std::string FrameBuilder::finish() {
  std::string out;
  finish_into(out);
  return out;
}

void FrameBuilder::finish_into(std::string& out) {
  m_text += "]}";
  out.swap(m_text);
  m_text.assign(m_head);
  m_samples = 0;
}

void FrameBuilder::clear() {
  m_text.resize(m_head.size());
  m_samples = 0;
}

}  // namespace streamtrack::wire
