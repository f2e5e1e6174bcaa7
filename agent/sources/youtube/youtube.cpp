#include "agent/sources/youtube/youtube.hpp"

#include <algorithm>

#include "agent/http/url.hpp"
#include "agent/sources/json_support.hpp"
#include "agent/sources/platform_support.hpp"
#include "agent/sources/source_config.hpp"
#include "common/daemon/log.hpp"

namespace streamtrack::agent::sources::youtube {

using nlohmann::json;
using std::chrono::milliseconds;

namespace {

const std::string* text(const json* v) {
  if (!v || !v->is_string()) return nullptr;
  return &v->get_ref<const std::string&>();
}

std::string error_message(std::string_view body) {
  const auto doc = json::parse(body, nullptr, false);
  const auto* error = member(doc, "error");
  if (!error) return {};
  if (const auto* m = text(member(*error, "message"))) return *m;
  return {};
}

}  // namespace

std::string error_reason(std::string_view body) {
  const auto doc = json::parse(body, nullptr, false);
  const auto* error = member(doc, "error");
  if (!error) return {};
  for (const char* list : {"errors", "details"}) {
    const auto* items = member(*error, list);
    if (!items || !items->is_array()) continue;
    for (const auto& item : *items) {
      if (const auto* reason = text(member(item, "reason")); reason && !reason->empty()) {
        return *reason;
      }
    }
  }
  return {};
}

Result<std::vector<VideoState>> parse_videos(std::string_view body) {
  using R = Result<std::vector<VideoState>>;
  const auto doc = parse_json_list(body, "items");
  if (!doc) return R::failure(doc.error());
  const auto& items = doc->at("items");
  std::vector<VideoState> out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto& item = items[i];
    const std::string where = "items[" + std::to_string(i) + "]";
    const auto* id = text(member(item, "id"));
    if (!id || id->empty()) return R::failure(where + ".id: expected a non-empty string");
    VideoState v;
    v.video_id = *id;
    const auto* snippet = member(item, "snippet");
    const auto* details = member(item, "liveStreamingDetails");
    if (snippet) {
      if (const auto* channel = text(member(*snippet, "channelId"))) v.channel_id = *channel;
      if (const auto* title = text(member(*snippet, "title")); title && !title->empty())
        v.title = *title;
    }
    const auto* content = snippet ? text(member(*snippet, "liveBroadcastContent")) : nullptr;
    std::optional<TimePoint> start;
    bool ended = false;
    if (details) {
      if (const auto* s = member(*details, "actualStartTime"); s && !s->is_null()) {
        start = as_time(*s);
        if (!start)
          return R::failure(
              where + ".liveStreamingDetails.actualStartTime: expected an RFC 3339 time, got " +
              s->dump());
      }
      if (const auto* e = member(*details, "actualEndTime"); e && !e->is_null()) ended = true;
    }
    v.live = (content && *content == "live") || (start && !ended);
    if (ended) v.live = false;
    if (v.live) {
      v.started_at = start;
      if (const auto* viewers = details ? member(*details, "concurrentViewers") : nullptr;
          viewers && !viewers->is_null()) {
        v.viewers = as_count(*viewers);
        if (!v.viewers)
          return R::failure(where +
                            ".liveStreamingDetails.concurrentViewers: expected a count, got " +
                            viewers->dump());
      }
    }
    out.push_back(std::move(v));
  }
  return out;
}

Result<std::vector<std::string>> parse_search(std::string_view body) {
  using R = Result<std::vector<std::string>>;
  const auto doc = parse_json_list(body, "items");
  if (!doc) return R::failure(doc.error());
  const auto& items = doc->at("items");
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto* id = member(items[i], "id");
    const auto* video = id ? text(member(*id, "videoId")) : nullptr;
    if (!video || video->empty())
      return R::failure("items[" + std::to_string(i) + "].id.videoId: expected a non-empty string");
    ids.push_back(*video);
  }
  return ids;
}

struct YoutubeSource::State {
  struct Channel {
    std::optional<std::string> video;
    TimePoint next_search{};
  };
  YoutubeOptions options;
  const Clock& clock;
  QuotaPlanner planner;
  milliseconds search_period{};
  std::map<std::string, Channel> channels;
};

namespace {

class YoutubePoll final : public PlatformPoll {
 public:
  explicit YoutubePoll(std::shared_ptr<YoutubeSource::State> state)
      : PlatformPoll(state->options.api_key), m_state(std::move(state)) {
    auto& s = *m_state;
    const auto now = s.clock.now();
    if (auto until = s.planner.paused_until(now)) {
      fail("daily quota exhausted (quotaExceeded); paused until " + format_rfc3339(*until));
      return;
    }
    for (const auto& id : s.options.channels) {
      const auto& c = s.channels[id];
      if (!c.video && c.next_search <= now) m_searches.push_back(id);
    }
    std::stable_sort(m_searches.begin(), m_searches.end(), [&s](const auto& a, const auto& b) {
      return s.channels[a].next_search < s.channels[b].next_search;
    });
  }

  std::optional<http::Request> next_request() override {
    if (done()) return std::nullopt;
    auto& s = *m_state;
    const auto now = s.clock.now();
    if (m_search < m_searches.size()) {
      if (s.planner.allow(s.options.search_cost, now)) {
        s.planner.spend(s.options.search_cost, now);
        m_stage = Stage::search;
        return request("/search?part=snippet&channelId=" +
                       http::percent_encode(m_searches[m_search]) + "&eventType=live&type=video");
      }
      m_skipped += m_searches.size() - m_search;
      m_search = m_searches.size();
    }
    if (!m_planned_videos) {
      m_planned_videos = true;
      std::vector<std::string> ids;
      for (const auto& id : s.options.channels) {
        if (const auto& c = s.channels[id]; c.video) ids.push_back(*c.video);
      }
      m_batches = batches(ids, k_batch_size);
    }
    if (m_batch < m_batches.size()) {
      if (s.planner.allow(1, now)) {
        s.planner.spend(1, now);
        m_stage = Stage::videos;
        std::string ids;
        for (const auto& id : m_batches[m_batch]) ids += (ids.empty() ? "" : ",") + id;
        return request("/videos?part=liveStreamingDetails,snippet&id=" + http::percent_encode(ids));
      }
      m_skipped += m_batches.size() - m_batch;
      m_batch = m_batches.size();
    }
    if (m_skipped > 0) {
      log::debug("quota pacing, requests deferred source=" + s.options.name +
                 " deferred=" + std::to_string(m_skipped) +
                 " spent_today=" + std::to_string(s.planner.spent_today()) +
                 " daily_quota=" + std::to_string(s.options.daily_quota));
    }
    succeed();
    return std::nullopt;
  }

  void on_outcome(const http::Reply& outcome, TimePoint now) override {
    auto& s = *m_state;
    if (!outcome) return fail(outcome.error());
    const auto& r = *outcome;
    if (r.status < 200 || r.status > 299) {
      const auto reason = error_reason(r.body);
      const auto message = error_message(r.body);
      std::string why = "HTTP " + std::to_string(r.status);
      if (!reason.empty()) why += ": " + reason;
      if (!message.empty()) why += ": " + message;
      if (reason.empty() && message.empty()) why = check_response(r, BodyKind::json).value_or(why);
      if (reason == "quotaExceeded") {
        s.planner.exhausted(now);
        why += "; paused until " + format_rfc3339(*s.planner.paused_until(now));
        log::warning("quota exceeded source=" + s.options.name +
                     " spent_today=" + std::to_string(s.planner.spent_today()));
      }
      return fail(why);
    }
    if (auto problem = check_response(r, BodyKind::json)) return fail(*problem);
    if (m_stage == Stage::search) {
      auto ids = parse_search(r.body);
      if (!ids) return fail(ids.error());
      const auto& id = m_searches[m_search++];
      auto& c = s.channels[id];
      c.next_search = now + s.search_period;
      if (ids->empty()) {
        Sample offline;
        offline.channel = id;
        offline.live = false;
        keep(std::move(offline));
      } else {
        c.video = ids->front();
      }
      return;
    }
    auto videos = parse_videos(r.body);
    if (!videos) return fail(videos.error());
    const auto& batch = m_batches[m_batch++];
    for (const auto& video_id : batch) {
      const auto channel = std::find_if(s.channels.begin(), s.channels.end(),
                                        [&](const auto& c) { return c.second.video == video_id; });
      if (channel == s.channels.end()) continue;
      const auto v = std::find_if(videos->begin(), videos->end(),
                                  [&](const auto& x) { return x.video_id == video_id; });
      if (v == videos->end()) {
        // Deleted or made private: look for the channel's live video again.
        channel->second.video.reset();
        channel->second.next_search = now;
        continue;
      }
      Sample sample;
      sample.channel = channel->first;
      sample.live = v->live;
      sample.title = v->title;
      if (v->live) {
        sample.viewers = v->viewers;
        sample.stream_id = v->video_id;
        sample.started_at = v->started_at;
      } else {
        channel->second.video.reset();
      }
      keep(std::move(sample));
    }
  }

 private:
  enum class Stage { search, videos };

  http::Request request(const std::string& path_and_query) const {
    const auto& o = m_state->options;
    http::Request r;
    r.url = o.api_base_url + path_and_query;
    // The key goes in a header, not the URL, so that it never shows up in logged URLs.
    r.headers.emplace_back("X-goog-api-key", o.api_key);
    r.timeout = o.timeout;
    r.max_body_bytes = o.max_body_bytes;
    return r;
  }

  std::shared_ptr<YoutubeSource::State> m_state;
  std::vector<std::string> m_searches;
  std::size_t m_search = 0;
  bool m_planned_videos = false;
  std::vector<std::vector<std::string>> m_batches;
  std::size_t m_batch = 0;
  std::size_t m_skipped = 0;
  Stage m_stage = Stage::search;
};

}  // namespace

YoutubeSource::YoutubeSource(YoutubeOptions options, const Clock& clock, const ZoneRules& zone)
    : m_state(std::make_shared<State>(State{
          .options = {},
          .clock = clock,
          .planner = QuotaPlanner(options.daily_quota, zone),
          .search_period = {},
          .channels = {},
      })) {
  options.api_base_url = http::trim_trailing_slashes(options.api_base_url);
  // At most half of the budget goes to searches, shared evenly by the channels.
  const auto n = static_cast<std::int64_t>(std::max<std::size_t>(options.channels.size(), 1));
  const std::int64_t search_budget = std::max<std::int64_t>(options.daily_quota / 2, 1);
  const milliseconds per_channel{86'400'000LL * n * options.search_cost / search_budget};
  m_state->search_period = std::max(options.interval, per_channel);
  for (const auto& id : options.channels) m_state->channels[id];
  m_state->options = std::move(options);
}

YoutubeSource::~YoutubeSource() = default;

std::unique_ptr<Poll> YoutubeSource::start_poll() {
  return std::make_unique<YoutubePoll>(m_state);
}

std::int64_t YoutubeSource::units_spent() const {
  return m_state->planner.spent_total();
}

std::int64_t YoutubeSource::units_spent_today() const {
  return m_state->planner.spent_today();
}

milliseconds YoutubeSource::search_period() const {
  return m_state->search_period;
}

namespace {

const config::TableSpec& spec() {
  using config::ValueType;
  static const YoutubeOptions defaults;
  static const config::TableSpec table = platform_source_spec(
      {.channels_description = "Channel ids (UC...) to track.",
       .default_api_base_url = defaults.api_base_url},
      {
          {.name = "api_key_file",
           .description = "YouTube Data API key, from a file (default: the systemd credential "
                          "youtube-api-key)."},
          {.name = "daily_quota",
           .type = ValueType::integer,
           .default_value = defaults.daily_quota,
           .description = "Units this source may spend per day (resets at midnight Pacific time).",
           .min = 1},
          {.name = "search_cost",
           .type = ValueType::integer,
           .default_value = defaults.search_cost,
           .description = "Units one search.list call costs.",
           .min = 1},
      });
  return table;
}

// Reads the API key (api_key_file, or $CREDENTIALS_DIRECTORY/youtube-api-key).
std::unique_ptr<Source> create(const SourceConfig& source, const std::string& config_path) {
  config::Diagnostics diag(config_path);
  YoutubeOptions o;
  const auto key = read_platform_options(source, "api_key_file", "youtube-api-key", diag, o);
  o.daily_quota = source.section.integer("daily_quota");
  o.search_cost = source.section.integer("search_cost");
  o.interval = source.interval;
  diag.throw_if_any();
  o.api_key = *key;
  return std::make_unique<YoutubeSource>(std::move(o), SystemClock::instance());
}

}  // namespace

SourceTypeInfo source_type() {
  return {
      .type = "youtube",
      .spec = &spec,
      .create = &create,
      .example = {.comment =
                      "YouTube: channel ids resolved to their live video with search.list "
                      "(search_cost units a call; 100 under the legacy quota, 1 under the 2026 "
                      "granular quota), viewers from videos.list (1 unit per 50 videos). "
                      "daily_quota is spread over the day (reset at midnight Pacific); polls are "
                      "skipped rather than exceeding it. Default credential: youtube-api-key.",
                  .toml = "type = \"youtube\"\nname = \"youtube\"\ninterval = \"60s\"\n"
                          "api_key_file = \"/etc/streamtrack/youtube.key\"\n"
                          "channels = [\"UCxxxxxxxxxxxxxxxxxxxxxx\"]\ndaily_quota = 10000\n"
                          "search_cost = 100\n"}};
}

}  // namespace streamtrack::agent::sources::youtube
