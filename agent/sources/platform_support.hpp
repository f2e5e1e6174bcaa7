#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "agent/config/agent_config.hpp"
#include "agent/sources/source.hpp"
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

// The part of a platform API's Poll (twitch, kick, youtube) that each kept the same way: the
// samples gathered so far, the result, and failures with the platform's secret redacted
// (oauth::redact). A poll is over once it failed or succeeded.
class PlatformPoll : public Poll {
 public:
  PollResult result() override { return m_result; }

 protected:
  // `secret` (a client secret, an API key) must outlive the poll; it lives in the source's
  // state, which the derived poll holds.
  explicit PlatformPoll(const std::string& secret) : m_secret(secret) {}

  bool done() const { return m_done; }
  // Ends the poll with `why`, the secret redacted.
  void fail(const std::string& why);
  // Ends the poll with the samples gathered.
  void succeed();
  // Gathers `sample`.
  void keep(Sample sample) { m_samples.push_back(std::move(sample)); }
  // Gathers `sample` unless one of its channel was gathered by keep_first() already.
  void keep_first(Sample sample);
  // Whether keep_first() gathered a sample of `channel`.
  bool seen(const std::string& channel) const { return m_seen.count(channel) > 0; }
  std::vector<Sample>& samples() { return m_samples; }

 private:
  const std::string& m_secret;
  bool m_done = false;
  std::vector<Sample> m_samples;
  std::set<std::string> m_seen;
  PollResult m_result = PollResult::failure("poll did not run");
};

}  // namespace streamtrack::agent::sources
