#pragma once

// Internal to common/wire: reads a sample or a frame straight from its bytes with nlohmann's SAX
// parser, without a tree: the members a decoder knows go into FlatObjects, and a frame's
// elements are found by their byte ranges in the payload and checked one by one as they end.
// The parse is nlohmann's own, so what it refuses, and where, is what json::parse refuses.
// Not part of the wire contract; nothing outside common/wire includes it.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/util/result.hpp"
#include "common/wire/flat_json.hpp"
#include "common/wire/sample.hpp"

namespace streamtrack::wire::detail {

// One element of the root object's array member (a frame's "samples").
struct ElementRead {
  nlohmann::json::value_t type = nlohmann::json::value_t::null;
  std::size_t begin = 0;  // its first byte in the payload
  std::size_t end = 0;    // one past its last byte
  // For an object: sample_from_fields of its members (what it alone would decode to).
  std::optional<Result<Sample>> sample;
};

struct SaxRead {
  // Why the payload is not JSON ("invalid JSON at byte N", "invalid JSON: number out of
  // range"), the reasons json::parse gives.
  std::optional<std::string> error;
  nlohmann::json::value_t root_type = nlohmann::json::value_t::discarded;
  std::size_t elements = 0;  // of the array member (the last of its name), all of them
  // The first `max_elements` elements of the array member, in order, each with its byte range.
  std::vector<ElementRead> element_reads;
};

// Parses `payload` as one JSON text (strictly: nothing but whitespace after it). The members of
// the root object named by `root`'s keys go into `root`. When `array_key` is not empty and
// `element` not null, every element of the root's member `array_key` (when it is an array) is
// counted, and the first `max_elements` are kept in element_reads; the members of an object
// element are collected into `element` and given to sample_from_fields.
// Precondition: payload_problem(payload, ...) found nothing (no raw NUL, nesting bounded).
SaxRead sax_read(std::string_view payload, FlatObject& root, std::string_view array_key = {},
                 FlatObject* element = nullptr, std::size_t max_elements = 0);

}  // namespace streamtrack::wire::detail
