#pragma once

#include <string>
#include <vector>

#include "agent/config/agent_config.hpp"
#include "agent/http/request.hpp"

// Reading the keys shared by source types from a validated [[source]] table.
namespace streamtrack::agent::sources {

// The request every poll of a one-URL source starts from: url, timeout, max_body_bytes and
// basic auth (username + password_file) or a bearer token (bearer_token_file). Secrets are
// read now. Throws config::ConfigError ("file:line:col: source \"x\": key: message") for an
// unreadable secret or conflicting auth settings.
http::Request base_request(const SourceConfig& source, const std::string& config_path);

// `channel`, defaulting to the source name.
std::string channel_name(const SourceConfig& source);

// The `streams` list of a discovering source (empty: every stream).
std::vector<std::string> stream_filter(const SourceConfig& source);

}  // namespace streamtrack::agent::sources
