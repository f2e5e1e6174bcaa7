#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/config/agent_config.hpp"
#include "agent/sources/source.hpp"
#include "agent/sources/source_type.hpp"

// `mediamtx`: GET /v3/paths/list of a MediaMTX server, following its pages.
namespace streamtrack::agent::sources::mediamtx {

struct Page {
  std::vector<Sample> samples;
  std::int64_t page_count = 0;
};

// One sample per item, channel = name: live = `available` (fallback `ready` before v1.16),
// viewers = number of readers, started_at = availableTime (fallback readyTime) while live,
// size and codecs from tracks2 (fallback: codec names from tracks).
Result<Page> parse(std::string_view body);

// The `mediamtx` entry of the source registry: its keys, factory and `config example` entry.
SourceTypeInfo source_type();

}  // namespace streamtrack::agent::sources::mediamtx
