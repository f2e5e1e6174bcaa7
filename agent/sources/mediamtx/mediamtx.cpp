#include "agent/sources/mediamtx/mediamtx.hpp"

#include "agent/http/url.hpp"
#include "agent/sources/json_support.hpp"
#include "agent/sources/source_config.hpp"

namespace streamtrack::agent::sources::mediamtx {

using nlohmann::json;

namespace {

constexpr std::int64_t k_max_pages = 100;

bool is_video(const std::string& codec) {
  return codec == "H264" || codec == "H265" || codec == "AV1" || codec == "VP9" || codec == "VP8" ||
         codec == "MPEG-4 Video" || codec == "MPEG-1/2 Video" || codec == "M-JPEG";
}

void read_tracks(const json& item, Sample& s) {
  if (const auto* tracks2 = member(item, "tracks2"); tracks2 && tracks2->is_array()) {
    for (const auto& t : *tracks2) {
      const auto* codec = member(t, "codec");
      if (!codec || !codec->is_string()) continue;
      const auto name = codec->get<std::string>();
      if (is_video(name) && !s.video_codec) {
        s.video_codec = name;
        if (const auto* props = member(t, "codecProps"); props && props->is_object()) {
          if (const auto* w = member(*props, "width")) s.width = as_count(*w);
          if (const auto* h = member(*props, "height")) s.height = as_count(*h);
        }
      } else if (!is_video(name) && !s.audio_codec) {
        s.audio_codec = name;
      }
    }
    return;
  }
  if (const auto* tracks = member(item, "tracks"); tracks && tracks->is_array()) {
    for (const auto& t : *tracks) {
      if (!t.is_string()) continue;
      const auto name = t.get<std::string>();
      if (is_video(name) && !s.video_codec) s.video_codec = name;
      if (!is_video(name) && !s.audio_codec) s.audio_codec = name;
    }
  }
}

class PagedPoll final : public Poll {
 public:
  PagedPoll(http::Request request, std::vector<std::string> streams)
      : m_base(std::move(request)), m_streams(std::move(streams)) {}

  std::optional<http::Request> next_request() override {
    if (m_done) return std::nullopt;
    http::Request r = m_base;
    if (m_page > 0) r.url = http::with_query_param(r.url, "page", std::to_string(m_page));
    return r;
  }

  void on_outcome(const http::Reply& outcome, TimePoint) override {
    const std::string where = m_page > 0 ? "page " + std::to_string(m_page) + ": " : "";
    m_done = true;
    if (!outcome) {
      m_error = where + outcome.error();
      return;
    }
    if (auto problem = check_response(*outcome, BodyKind::json)) {
      m_error = where + *problem;
      return;
    }
    auto page = parse(outcome->body);
    if (!page) {
      m_error = where + page.error();
      return;
    }
    for (auto& s : page->samples) m_samples.push_back(std::move(s));
    if (m_page + 1 < page->page_count && m_page + 1 < k_max_pages) {
      ++m_page;
      m_done = false;
    }
  }

  PollResult result() override {
    if (m_error) return PollResult::failure(*m_error);
    return filter_streams(std::move(m_samples), m_streams);
  }

 private:
  http::Request m_base;
  std::vector<std::string> m_streams;
  std::int64_t m_page = 0;
  bool m_done = false;
  std::vector<Sample> m_samples;
  std::optional<std::string> m_error;
};

class MediamtxSource final : public Source {
 public:
  MediamtxSource(http::Request request, std::vector<std::string> streams)
      : m_request(std::move(request)), m_streams(std::move(streams)) {}
  std::unique_ptr<Poll> start_poll() override {
    return std::make_unique<PagedPoll>(m_request, m_streams);
  }

 private:
  http::Request m_request;
  std::vector<std::string> m_streams;
};

}  // namespace

Result<Page> parse(std::string_view body) {
  auto doc = parse_json(body);
  if (!doc) return Result<Page>::failure(doc.error());
  const auto* items = member(*doc, "items");
  if (!items || !items->is_array()) {
    return Result<Page>::failure(items && items->is_object()
                                     ? "\"items\" is an object: a MediaMTX v0 /v2 API, use /v3"
                                     : "\"items\" is missing or not an array");
  }
  Page page;
  if (const auto* count = member(*doc, "pageCount")) page.page_count = as_count(*count).value_or(0);
  for (const auto& item : *items) {
    const auto* name = member(item, "name");
    if (!name || !name->is_string() || name->get_ref<const std::string&>().empty()) {
      return Result<Page>::failure("an item has no \"name\" string");
    }
    Sample s;
    s.channel = name->get<std::string>();
    const auto* available = member(item, "available");
    if (!available || !available->is_boolean()) available = member(item, "ready");
    if (!available || !available->is_boolean()) {
      return Result<Page>::failure("path \"" + s.channel +
                                   "\": neither \"available\" nor \"ready\" is a boolean");
    }
    s.live = available->get<bool>();
    if (const auto* readers = member(item, "readers"); readers && readers->is_array()) {
      s.viewers = static_cast<std::int64_t>(readers->size());
    }
    if (s.live) {
      for (const char* key : {"availableTime", "readyTime"}) {
        if (const auto* t = member(item, key); t && t->is_string()) {
          s.started_at = as_time(*t);
          if (s.started_at) break;
        }
      }
      read_tracks(item, s);
    }
    page.samples.push_back(std::move(s));
  }
  return page;
}

namespace {

// Polls page 0 as configured, then page=1.. while pageCount says there are more (at most 100).
std::unique_ptr<Source> create(const SourceConfig& source, const std::string& config_path) {
  return std::make_unique<MediamtxSource>(base_request(source, config_path), stream_filter(source));
}

}  // namespace

SourceTypeInfo source_type() {
  return {.type = "mediamtx",
          .spec = &discovering_source_spec,
          .create = &create,
          .example = {
              .comment = "MediaMTX: GET /v3/paths/list (all pages); channel = path name, viewers = "
                         "readers. Remote servers need credentials with the \"api\" action.",
              .toml = "type = \"mediamtx\"\nname = \"mediamtx\"\nurl = "
                      "\"http://127.0.0.1:9997/v3/paths/list\"\ninterval = \"10s\"\n"
                      "username = \"streamtrack\"\npassword_file = \"mediamtx.password\"\n"}};
}

}  // namespace streamtrack::agent::sources::mediamtx
