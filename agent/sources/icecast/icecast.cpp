#include "agent/sources/icecast/icecast.hpp"

#include "agent/http/url.hpp"
#include "agent/sources/json_support.hpp"
#include "agent/sources/source_config.hpp"

namespace streamtrack::agent::sources::icecast {

using nlohmann::json;

namespace {

std::optional<std::string> codec_of(const std::string& mime) {
  if (mime == "audio/mpeg" || mime == "audio/mp3") return "MP3";
  if (mime == "audio/aac" || mime == "audio/aacp") return "AAC";
  if (mime == "audio/ogg" || mime == "application/ogg") return "Ogg";
  if (mime == "audio/opus") return "Opus";
  if (mime == "audio/flac") return "FLAC";
  return std::nullopt;
}

Result<Sample> parse_source(const json& src) {
  if (!src.is_object()) {
    return Result<Sample>::failure(std::string("a source is a ") + json_type_name(src) +
                                   ", expected an object");
  }
  const auto* url = member(src, "listenurl");
  if (!url || !url->is_string()) {
    return Result<Sample>::failure("a source has no \"listenurl\" string");
  }
  Sample s;
  s.channel = http::url_path(url->get<std::string>()).substr(1);
  if (s.channel.empty()) {
    return Result<Sample>::failure("listenurl \"" + url->get<std::string>() + "\" has no mount");
  }
  s.live = true;
  if (const auto* listeners = member(src, "listeners"); listeners && !listeners->is_null()) {
    s.viewers = as_count(*listeners);
    if (!s.viewers) {
      return Result<Sample>::failure("mount \"" + s.channel + "\": \"listeners\" is not a count");
    }
  }
  std::optional<std::string> title, artist;
  if (const auto* t = member(src, "title")) title = as_text(*t);
  if (const auto* a = member(src, "artist")) artist = as_text(*a);
  if (title && artist) {
    s.title = *artist + " - " + *title;
  } else if (title) {
    s.title = title;
  } else if (artist) {
    s.title = artist;
  }
  if (const auto* genre = member(src, "genre")) s.category = as_text(*genre);
  for (const char* key : {"bitrate", "ice-bitrate"}) {
    if (s.bitrate_kbps) break;
    if (const auto* b = member(src, key)) s.bitrate_kbps = as_number(*b);
  }
  if (const auto* start = member(src, "stream_start_iso8601")) s.started_at = as_time(*start);
  if (const auto* type = member(src, "server_type"); type && type->is_string()) {
    s.audio_codec = codec_of(type->get<std::string>());
  }
  return s;
}

}  // namespace

PollResult parse(std::string_view body) {
  auto doc = parse_json(body);
  if (!doc) return PollResult::failure(doc.error());
  const auto* stats = member(*doc, "icestats");
  if (!stats || !stats->is_object()) {
    return PollResult::failure("\"icestats\" is missing or not an object");
  }
  std::vector<Sample> out;
  const auto* source = member(*stats, "source");
  if (!source || source->is_null()) return out;
  const json list = source->is_array() ? *source : json::array({*source});
  for (const auto& src : list) {
    auto s = parse_source(src);
    if (!s) return PollResult::failure(s.error());
    out.push_back(std::move(s).value());
  }
  return out;
}

namespace {

std::unique_ptr<Source> create(const SourceConfig& source, const std::string& config_path) {
  return std::make_unique<SingleRequestSource>(
      base_request(source, config_path), BodyKind::json,
      stream_filtered(source, [](std::string_view body, TimePoint) { return parse(body); }));
}

}  // namespace

SourceTypeInfo source_type() {
  return {.type = "icecast",
          .spec = &discovering_source_spec,
          .create = &create,
          .example = {.comment =
                          "Icecast: /status-json.xsl; channel = mount without the leading \"/\", "
                          "viewers = listeners.",
                      .toml = "type = \"icecast\"\nname = \"radio\"\nurl = "
                              "\"http://127.0.0.1:8000/status-json.xsl\"\ninterval = \"30s\"\n"
                              "streams = [\"live.mp3\"]\n"}};
}

}  // namespace streamtrack::agent::sources::icecast
