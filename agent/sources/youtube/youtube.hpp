#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/config/agent_config.hpp"
#include "agent/sources/source.hpp"
#include "agent/sources/source_type.hpp"
#include "agent/sources/youtube/quota.hpp"
#include "common/config/schema.hpp"
#include "common/util/time.hpp"

// `youtube`: YouTube Data API v3 with an API key. Channels are resolved to their current live
// video with search.list (eventType=live), as often as the quota allows; live videos are polled
// with videos.list (up to 50 ids a call). A QuotaPlanner spreads the daily budget.
namespace streamtrack::agent::sources::youtube {

inline constexpr std::size_t k_batch_size = 50;

struct VideoState {
  std::string video_id;
  std::string channel_id;
  bool live = false;
  std::optional<std::int64_t> viewers;
  std::optional<std::string> title;
  std::optional<TimePoint> started_at;
};

// Parses a videos.list answer. live = liveBroadcastContent "live", or actualStartTime without
// actualEndTime; viewers = concurrentViewers (a decimal string), absent when hidden.
Result<std::vector<VideoState>> parse_videos(std::string_view body);

// Parses a search.list answer: the video ids of its items.
Result<std::vector<std::string>> parse_search(std::string_view body);

// The reason of a Google API error body ("quotaExceeded"), from error.errors[].reason or
// error.details[].reason; empty when there is none.
std::string error_reason(std::string_view body);

// Its defaults are those of the [[source]] keys: spec() reads them from here.
struct YoutubeOptions {
  std::string name;
  std::string api_key;
  std::vector<std::string> channels;  // channel ids
  std::string api_base_url = "https://www.googleapis.com/youtube/v3";
  std::int64_t daily_quota = 10'000;
  std::int64_t search_cost = 100;  // units per search.list call
  std::chrono::milliseconds interval{60'000};
  std::chrono::milliseconds timeout = http::k_default_timeout;
  std::size_t max_body_bytes = http::k_default_max_body_bytes;
};

class YoutubeSource final : public Source {
 public:
  YoutubeSource(YoutubeOptions options, const Clock& clock, const ZoneRules& zone = pacific_time());
  ~YoutubeSource() override;
  std::unique_ptr<Poll> start_poll() override;

  // Units counted so far (all days), and today's.
  std::int64_t units_spent() const;
  std::int64_t units_spent_today() const;
  // How long each channel waits between two searches, given the budget.
  std::chrono::milliseconds search_period() const;

  struct State;

 private:
  std::shared_ptr<State> m_state;
};

// The `youtube` entry of the source registry: its keys, factory and `config example` entry.
SourceTypeInfo source_type();

}  // namespace streamtrack::agent::sources::youtube
