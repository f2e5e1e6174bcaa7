#include "agent/sources/owncast/owncast.hpp"

#include "agent/sources/json_support.hpp"
#include "agent/sources/source_config.hpp"

namespace streamtrack::agent::sources::owncast {

PollResult parse(std::string_view body, const std::string& channel) {
  auto doc = parse_json(body);
  if (!doc) return PollResult::failure(doc.error());
  if (!doc->is_object()) {
    return PollResult::failure(std::string("expected a JSON object, got ") + json_type_name(*doc));
  }
  const auto* online = member(*doc, "online");
  if (!online) return PollResult::failure("\"online\" is missing");
  if (!online->is_boolean()) {
    return PollResult::failure(std::string("\"online\": expected a boolean, got ") +
                               json_type_name(*online));
  }
  Sample s;
  s.channel = channel;
  s.live = online->get<bool>();
  if (const auto* count = member(*doc, "viewerCount"); count && !count->is_null()) {
    s.viewers = as_count(*count);
    if (!s.viewers) {
      return PollResult::failure(std::string("\"viewerCount\": expected a count, got ") +
                                 json_type_name(*count));
    }
  } else if (!s.live) {
    s.viewers = 0;
  }
  if (const auto* title = member(*doc, "streamTitle"); title && title->is_string()) {
    if (!title->get_ref<const std::string&>().empty()) s.title = title->get<std::string>();
  }
  if (s.live) {
    if (const auto* since = member(*doc, "lastConnectTime"); since && !since->is_null()) {
      s.started_at = as_time(*since);
      if (!s.started_at) {
        return PollResult::failure("\"lastConnectTime\": expected an RFC 3339 time, got " +
                                   since->dump());
      }
    }
  }
  return std::vector<Sample>{std::move(s)};
}

namespace {

std::unique_ptr<Source> create(const SourceConfig& source, const std::string& config_path) {
  return std::make_unique<SingleRequestSource>(
      base_request(source, config_path), BodyKind::json,
      [channel = channel_name(source)](std::string_view body, TimePoint) {
        return parse(body, channel);
      });
}

}  // namespace

SourceTypeInfo source_type() {
  return {
      .type = "owncast",
      .spec = &single_stream_source_spec,
      .create = &create,
      .example = {
          .comment = "Owncast: GET /api/status. One channel, named by `channel` (default: the "
                     "source name).",
          .toml =
              "type = \"owncast\"\nname = \"owncast\"\nurl = "
              "\"http://127.0.0.1:8080/api/status\"\nchannel = \"owncast\"\ninterval = \"15s\"\n"}};
}

}  // namespace streamtrack::agent::sources::owncast
