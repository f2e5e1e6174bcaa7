#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/config/agent_config.hpp"
#include "agent/sources/source.hpp"
#include "agent/sources/source_type.hpp"
#include "common/config/schema.hpp"
#include "common/util/time.hpp"

// `kick`: Kick public API GET /public/v1/channels?slug=... with an app access token (client
// credentials); 429 answered with exponential backoff.
namespace streamtrack::agent::sources::kick {

// Slugs per /channels request.
inline constexpr std::size_t k_batch_size = 50;

// Parses a /public/v1/channels answer: one sample per entry of `data`, channel = slug;
// live = stream.is_live; while live: viewers = stream.viewer_count, started_at =
// stream.start_time; title = stream_title and category = category.name when not empty.
Result<std::vector<Sample>> parse_channels(std::string_view body);

// Its defaults are those of the [[source]] keys: spec() reads them from here.
struct KickOptions {
  std::string name;
  std::string client_id;
  std::string client_secret;
  std::vector<std::string> channels;  // slugs
  std::string api_base_url = "https://api.kick.com";
  std::string auth_base_url = "https://id.kick.com";
  std::chrono::milliseconds timeout = http::k_default_timeout;
  std::size_t max_body_bytes = http::k_default_max_body_bytes;
  std::chrono::milliseconds backoff_base{5'000};  // after a 429
  std::chrono::milliseconds backoff_cap{300'000};
};

class KickSource final : public Source {
 public:
  KickSource(KickOptions options, const Clock& clock);
  ~KickSource() override;
  std::unique_ptr<Poll> start_poll() override;
  struct State;

 private:
  std::shared_ptr<State> m_state;
};

// The `kick` entry of the source registry: its keys, factory and `config example` entry.
SourceTypeInfo source_type();

}  // namespace streamtrack::agent::sources::kick
