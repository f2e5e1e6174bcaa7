#include "agent/sources/srs/srs.hpp"

#include "agent/http/url.hpp"
#include "agent/sources/json_support.hpp"
#include "agent/sources/source_config.hpp"

namespace streamtrack::agent::sources::srs {

using nlohmann::json;

PollResult parse(std::string_view body) {
  auto doc = parse_json(body);
  if (!doc) return PollResult::failure(doc.error());
  if (!doc->is_object()) {
    return PollResult::failure(std::string("expected a JSON object, got ") + json_type_name(*doc));
  }
  const auto* code = member(*doc, "code");
  if (!code || !code->is_number_integer()) {
    return PollResult::failure("\"code\" is missing or not an integer");
  }
  if (code->get<std::int64_t>() != 0) {
    return PollResult::failure("SRS error code " + code->dump());
  }
  const auto* streams = member(*doc, "streams");
  if (!streams || !streams->is_array()) {
    return PollResult::failure("\"streams\" is missing or not an array");
  }
  std::vector<Sample> out;
  for (const auto& st : *streams) {
    const auto* name = member(st, "name");
    const auto* app = member(st, "app");
    if (!name || !name->is_string() || !app || !app->is_string()) {
      return PollResult::failure("a stream has no \"app\" or \"name\" string");
    }
    Sample s;
    s.channel = app->get<std::string>() + "/" + name->get<std::string>();
    const auto* publish = member(st, "publish");
    const auto* active = publish ? member(*publish, "active") : nullptr;
    s.live = active && active->is_boolean() && active->get<bool>();
    if (const auto* clients = member(st, "clients")) {
      const auto n = as_count(*clients);
      if (!n)
        return PollResult::failure("stream \"" + s.channel + "\": \"clients\" is not a count");
      s.viewers = std::max<std::int64_t>(0, *n - (s.live ? 1 : 0));
    }
    if (const auto* id = member(st, "id"); id && (id->is_string() || id->is_number_integer())) {
      s.stream_id = as_text(*id);
    }
    if (s.live) {
      if (const auto* kbps = member(st, "kbps")) {
        if (const auto* recv = member(*kbps, "recv_30s")) s.bitrate_kbps = as_number(*recv);
      }
      if (const auto* video = member(st, "video"); video && video->is_object()) {
        if (const auto* c = member(*video, "codec")) s.video_codec = as_text(*c);
        if (const auto* w = member(*video, "width")) s.width = as_count(*w);
        if (const auto* h = member(*video, "height")) s.height = as_count(*h);
        if (s.width == 0) s.width.reset();
        if (s.height == 0) s.height.reset();
      }
      if (const auto* audio = member(st, "audio"); audio && audio->is_object()) {
        if (const auto* c = member(*audio, "codec")) s.audio_codec = as_text(*c);
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

namespace {

// Sends `count` (default 100 when the URL has none: SRS returns only 10 streams otherwise).
std::unique_ptr<Source> create(const SourceConfig& source, const std::string& config_path) {
  auto request = base_request(source, config_path);
  if (request.url.find("count=") == std::string::npos) {
    request.url = http::with_query_param(request.url, "count", "100");
  }
  return std::make_unique<SingleRequestSource>(
      std::move(request), BodyKind::json,
      stream_filtered(source, [](std::string_view body, TimePoint) { return parse(body); }));
}

}  // namespace

SourceTypeInfo source_type() {
  return {
      .type = "srs",
      .spec = &discovering_source_spec,
      .create = &create,
      .example = {
          .comment = "SRS: GET /api/v1/streams (count=100 is added when the URL has no count); "
                     "channel = \"<app>/<stream>\".",
          .toml = "type = \"srs\"\nname = \"srs\"\nurl = \"http://127.0.0.1:1985/api/v1/streams\"\n"
                  "interval = \"10s\"\n"}};
}

}  // namespace streamtrack::agent::sources::srs
