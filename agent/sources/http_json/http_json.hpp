#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "agent/config/agent_config.hpp"
#include "agent/sources/source.hpp"
#include "agent/sources/source_type.hpp"

// `http_json`: any JSON endpoint, sample fields mapped with JSON Pointers (RFC 6901).
namespace streamtrack::agent::sources::http_json {

struct Mapping {
  std::string channel;
  nlohmann::json::json_pointer live;
  std::optional<nlohmann::json::json_pointer> viewers, title, category, stream_id, started_at,
      bitrate_kbps, fps, dropped_frames, chat_messages, chatters;
};

// One sample for `mapping.channel`. `live` must resolve to a boolean (or 0/1); other fields
// are absent when their pointer resolves to nothing or null, and an error when the value has
// the wrong type ("viewers (/stats/viewers): expected a non-negative integer, got string").
PollResult parse(std::string_view body, const Mapping& mapping);

// The `http_json` entry of the source registry: its keys, factory and `config example` entry.
SourceTypeInfo source_type();

}  // namespace streamtrack::agent::sources::http_json
