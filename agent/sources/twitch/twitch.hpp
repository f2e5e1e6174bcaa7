#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/chat/irc_client.hpp"
#include "agent/config/agent_config.hpp"
#include "agent/sources/source.hpp"
#include "agent/sources/source_type.hpp"
#include "common/config/schema.hpp"
#include "common/util/time.hpp"

// `twitch`: Helix GET /streams for up to 100 logins per request, with an app access token
// (client credentials), Ratelimit-* headers honoured, and optional chat activity over IRC.
namespace streamtrack::agent::sources::twitch {

// Logins per /streams request (Helix maximum).
inline constexpr std::size_t k_batch_size = 100;

struct StreamsPage {
  std::vector<Sample> live;  // channel = user_login (lower-case), live = true
  std::string cursor;        // empty when there are no more pages
};

// Parses one /helix/streams page: every entry of `data` is a live stream (viewers =
// viewer_count, stream_id = id, title and category = game_name when not empty, started_at).
// An entry without user_login or with an unusable field is an error naming the field.
Result<StreamsPage> parse_streams(std::string_view body);

// Helix rate-limit bookkeeping from the Ratelimit-Limit/Remaining/Reset headers and 429s.
struct RateLimit {
  std::optional<std::int64_t> limit;
  std::optional<std::int64_t> remaining;
  std::optional<TimePoint> reset;  // when the bucket is full again
  // Takes the headers of any Helix response.
  void update(const http::Response& response);
  // When `points` cannot be spent at `now`: the time the bucket refills; nullopt otherwise.
  std::optional<TimePoint> blocked(TimePoint now, std::int64_t points) const;
};

// Its defaults are those of the [[source]] keys: spec() reads them from here.
struct TwitchOptions {
  std::string name;  // source name, for logs
  std::string client_id;
  std::string client_secret;
  std::vector<std::string> channels;  // logins, lower-cased
  std::string api_base_url = "https://api.twitch.tv/helix";
  std::string auth_base_url = "https://id.twitch.tv/oauth2";
  std::chrono::milliseconds timeout = http::k_default_timeout;
  std::size_t max_body_bytes = http::k_default_max_body_bytes;
  std::optional<chat::IrcOptions> chat;  // set: count chat activity over IRC
};

class TwitchSource final : public Source {
 public:
  // Starts the chat client when options.chat is set. `clock` must outlive the source.
  TwitchSource(TwitchOptions options, const Clock& clock);
  ~TwitchSource() override;
  std::unique_ptr<Poll> start_poll() override;
  // The chat client, when chat is on.
  const chat::IrcClient* chat() const;

  // Shared with the polls it starts.
  struct State;

 private:
  std::shared_ptr<State> m_state;
};

// The `twitch` entry of the source registry: its keys, factory and `config example` entry.
SourceTypeInfo source_type();

}  // namespace streamtrack::agent::sources::twitch
