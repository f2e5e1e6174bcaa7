#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/config/agent_config.hpp"
#include "common/config/schema.hpp"
#include "common/util/result.hpp"

// Steps shared by the platform API sources (agent/sources/twitch, youtube, kick): their config
// factories, request batching and answer envelopes.
namespace streamtrack::agent::sources {

// `s` with ASCII letters lower-cased (channel logins and slugs).
std::string lower_ascii(std::string s);

// `items` cut in order into runs of at most `size` (> 0); none for an empty list.
std::vector<std::vector<std::string>> batches(const std::vector<std::string>& items,
                                              std::size_t size);

// Parses `body` as a JSON object whose member `key` is an array and returns the object. Errors:
// parse_json's, "expected a JSON object, got <type>", "\"<key>\" is missing" and
// "\"<key>\": expected an array, got <type>".
Result<nlohmann::json> parse_json_list(std::string_view body, std::string_view key);

// Reads the secret of a platform source: the file named by `secret_key`, or the systemd
// credential `credential` (config::read_secret). Reports to `diag`, which must be empty on entry:
// "<secret_key>: required (or a systemd credential named <credential>)" when neither is there,
// and "channels: must not be empty" for an empty `channels`. Returns nullopt only when `diag`
// holds an error.
std::optional<std::string> read_platform_secret(const config::Section& section,
                                                const std::vector<std::string>& channels,
                                                std::string_view secret_key,
                                                std::string_view credential,
                                                config::Diagnostics& diag);

// The part of a platform create() that every platform shares: fills `options` .name,
// .channels, .api_base_url, .timeout and .max_body_bytes from `source`, then reads the secret as
// read_platform_secret() does. `diag` must be empty on entry.
template <typename Options>
std::optional<std::string> read_platform_options(const SourceConfig& source,
                                                 std::string_view secret_key,
                                                 std::string_view credential,
                                                 config::Diagnostics& diag, Options& options) {
  const auto& s = source.section;
  options.name = source.name;
  options.channels = s.strings("channels");
  options.api_base_url = s.string("api_base_url");
  options.timeout = source.timeout;
  options.max_body_bytes = static_cast<std::size_t>(source.max_body_bytes);
  return read_platform_secret(s, options.channels, secret_key, credential, diag);
}

}  // namespace streamtrack::agent::sources
