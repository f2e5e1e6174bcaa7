#pragma once

#include <string>
#include <vector>

#include "agent/config/agent_config.hpp"
#include "agent/http/request.hpp"
#include "agent/sources/source.hpp"
#include "common/config/schema.hpp"

// The keys shared by source types, declared once, and reading them from a validated [[source]]
// table. A type's spec() starts from one of these declarations, so it cannot forget a shared
// key or give it another meaning.
namespace streamtrack::agent::sources {

// Keys every [[source]] table accepts: type, name, interval, timeout, max_body_bytes.
const config::TableSpec& source_common_spec();

// Sources that poll one HTTP endpoint: the common keys, then url, username, password_file and
// bearer_token_file (read by base_request()).
const config::TableSpec& http_source_spec();

// An HTTP endpoint that lists many streams: http_source_spec() and `streams`
// (read by stream_filter()).
const config::TableSpec& discovering_source_spec();

// An HTTP endpoint about one stream: http_source_spec() and `channel` (read by channel_name()).
const config::TableSpec& single_stream_source_spec();

// What the platform API sources (twitch, youtube, kick) say about the keys they all have.
struct PlatformKeys {
  std::string channels_description;  // what a `channels` entry is ("Channel slugs to track.")
  std::string default_api_base_url;  // the platform's API; `api_base_url` overrides it
};

// A platform API source: the common keys, `channels` (a required, non-empty list of strings)
// and `api_base_url`, then `more` (read by read_platform_options()).
config::TableSpec platform_source_spec(const PlatformKeys& keys, std::vector<config::KeySpec> more);

// The request every poll of a one-URL source starts from: url, timeout, max_body_bytes and
// basic auth (username + password_file) or a bearer token (bearer_token_file). Secrets are
// read now. Throws config::ConfigError ("file:line:col: source \"x\": key: message") for an
// unreadable secret or conflicting auth settings.
http::Request base_request(const SourceConfig& source, const std::string& config_path);

// `channel`, defaulting to the source name.
std::string channel_name(const SourceConfig& source);

// The `streams` list of a discovering source (empty: every stream).
std::vector<std::string> stream_filter(const SourceConfig& source);

// The parser of a discovering source: `parse`, then filter_streams() with its `streams`.
BodyParser stream_filtered(const SourceConfig& source, BodyParser parse);

}  // namespace streamtrack::agent::sources
