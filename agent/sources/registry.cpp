#include "agent/sources/registry.hpp"

#include "agent/sources/http_json/http_json.hpp"
#include "agent/sources/icecast/icecast.hpp"
#include "agent/sources/kick/kick.hpp"
#include "agent/sources/mediamtx/mediamtx.hpp"
#include "agent/sources/nginx_rtmp/nginx_rtmp.hpp"
#include "agent/sources/owncast/owncast.hpp"
#include "agent/sources/srs/srs.hpp"
#include "agent/sources/synthetic/synthetic.hpp"
#include "agent/sources/twitch/twitch.hpp"
#include "agent/sources/youtube/youtube.hpp"

namespace streamtrack::agent {

using config::KeySpec;
using config::TableSpec;
using config::ValueType;

const TableSpec& source_common_spec() {
  static const TableSpec spec{{
      {.name = "type", .required = true, .description = "Source type (see the registry)."},
      {.name = "name",
       .required = true,
       .description = "Unique name of this source; shown in logs, health and metrics."},
      {.name = "interval",
       .type = ValueType::duration,
       .required = true,
       .description = "Time between polls.",
       .min = 100},
      {.name = "timeout",
       .type = ValueType::duration,
       .default_value = std::string("10s"),
       .description = "Give up one poll request after this long.",
       .min = 100},
      {.name = "max_body_bytes",
       .type = ValueType::integer,
       .default_value = std::int64_t{4 << 20},
       .description = "Larger responses are an error, not a sample.",
       .min = 1024},
  }};
  return spec;
}

namespace {

// Common keys followed by those of sources that poll one HTTP endpoint.
std::vector<KeySpec> http_keys() {
  auto keys = source_common_spec().keys;
  keys.insert(
      keys.end(),
      {
          {.name = "url", .required = true, .description = "Endpoint to poll."},
          {.name = "username", .description = "HTTP basic auth user."},
          {.name = "password_file", .description = "HTTP basic auth password, from a file."},
          {.name = "bearer_token_file", .description = "Bearer token, from a file."},
      });
  return keys;
}

// Keys of sources that discover streams from a server's list.
std::vector<KeySpec> discovery_keys() {
  auto keys = http_keys();
  keys.push_back({.name = "streams",
                  .type = ValueType::string_list,
                  .description = "Only these streams; a listed stream that the server does not "
                                 "report is reported offline."});
  return keys;
}

const TableSpec& discovering_spec() {
  static const TableSpec spec{discovery_keys()};
  return spec;
}

const TableSpec& single_stream_spec() {
  static const TableSpec spec{[] {
    auto keys = http_keys();
    keys.push_back(
        {.name = "channel", .description = "Channel name in samples (default: the source name)."});
    return keys;
  }()};
  return spec;
}

const TableSpec& http_json_fields_spec() {
  static const TableSpec spec{{
      {.name = "live", .required = true, .description = "JSON Pointer to a boolean."},
      {.name = "viewers", .description = "JSON Pointer to an integer."},
      {.name = "title", .description = "JSON Pointer to a string."},
      {.name = "category", .description = "JSON Pointer to a string."},
      {.name = "stream_id", .description = "JSON Pointer to a string or integer."},
      {.name = "started_at", .description = "JSON Pointer to an RFC 3339 string."},
      {.name = "bitrate_kbps", .description = "JSON Pointer to a number."},
      {.name = "fps", .description = "JSON Pointer to a number."},
      {.name = "dropped_frames", .description = "JSON Pointer to an integer."},
      {.name = "chat_messages", .description = "JSON Pointer to an integer."},
      {.name = "chatters", .description = "JSON Pointer to an integer."},
  }};
  return spec;
}

const TableSpec& http_json_spec() {
  static const TableSpec spec{[] {
    auto keys = single_stream_spec().keys;
    keys.push_back({.name = "fields",
                    .type = ValueType::table,
                    .required = true,
                    .description = "Sample field -> JSON Pointer into the response.",
                    .nested = &http_json_fields_spec()});
    return keys;
  }()};
  return spec;
}

}  // namespace

const std::vector<SourceTypeInfo>& source_types() {
  static const std::vector<SourceTypeInfo> types{
      {"nginx_rtmp", &discovering_spec, &sources::nginx_rtmp::create},
      {"owncast", &single_stream_spec, &sources::owncast::create},
      {"mediamtx", &discovering_spec, &sources::mediamtx::create},
      {"srs", &discovering_spec, &sources::srs::create},
      {"icecast", &discovering_spec, &sources::icecast::create},
      {"http_json", &http_json_spec, &sources::http_json::create},
      {"twitch", &sources::twitch::spec, &sources::twitch::create},
      {"youtube", &sources::youtube::spec, &sources::youtube::create},
      {"kick", &sources::kick::spec, &sources::kick::create},
      {"synthetic", &sources::synthetic::spec, &sources::synthetic::create},
  };
  return types;
}

const SourceTypeInfo* find_source_type(std::string_view type) {
  for (const auto& t : source_types()) {
    if (t.type == type) return &t;
  }
  return nullptr;
}

}  // namespace streamtrack::agent
