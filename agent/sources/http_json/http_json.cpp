#include "agent/sources/http_json/http_json.hpp"

#include "agent/sources/json_support.hpp"
#include "agent/sources/source_config.hpp"

namespace streamtrack::agent::sources::http_json {

using nlohmann::json;
using Pointer = json::json_pointer;

namespace {

// The value at `pointer`, or nullptr when the document has nothing there.
const json* resolve(const json& doc, const Pointer& pointer) {
  try {
    if (!doc.contains(pointer)) return nullptr;
    return &doc.at(pointer);
  } catch (const json::exception&) {
    return nullptr;  // e.g. "/0" into an object, or "/x" into a number
  }
}

std::string describe(const json& v) {
  std::string out = json_type_name(v);
  if (v.is_string()) {
    auto text = v.get<std::string>();
    if (text.size() > 40) text = text.substr(0, 40) + "...";
    out += " \"" + text + "\"";
  }
  return out;
}

// Reads the optional fields, remembering the first problem.
class Reader {
 public:
  explicit Reader(const json& doc) : m_doc(doc) {}
  std::optional<std::string> error;

  template <typename T, typename Convert>
  std::optional<T> get(const char* field, const std::optional<Pointer>& pointer,
                       const char* expected, Convert convert) {
    if (!pointer || error) return std::nullopt;
    const json* v = resolve(m_doc, *pointer);
    if (!v || v->is_null()) return std::nullopt;
    auto out = convert(*v);
    if (!out) {
      error = std::string(field) + " (" + pointer->to_string() + "): expected " + expected +
              ", got " + describe(*v);
    }
    return out;
  }

 private:
  const json& m_doc;
};

std::optional<std::string> string_only(const json& v) {
  return v.is_string() ? std::optional(v.get<std::string>()) : std::nullopt;
}

}  // namespace

PollResult parse(std::string_view body, const Mapping& mapping) {
  auto doc = parse_json(body);
  if (!doc) return PollResult::failure(doc.error());
  const json* live = resolve(*doc, mapping.live);
  const std::string where = "live (" + mapping.live.to_string() + ")";
  if (!live) return PollResult::failure(where + ": not found in the response");
  Sample s;
  s.channel = mapping.channel;
  if (live->is_boolean()) {
    s.live = live->get<bool>();
  } else if (live->is_number_integer() &&
             (live->get<std::int64_t>() == 0 || live->get<std::int64_t>() == 1)) {
    s.live = live->get<std::int64_t>() == 1;
  } else {
    return PollResult::failure(where + ": expected a boolean, got " + describe(*live));
  }
  Reader r(*doc);
  s.viewers = r.get<std::int64_t>("viewers", mapping.viewers, "a non-negative integer", as_count);
  s.title = r.get<std::string>("title", mapping.title, "a string", string_only);
  s.category = r.get<std::string>("category", mapping.category, "a string", string_only);
  s.stream_id =
      r.get<std::string>("stream_id", mapping.stream_id, "a string or integer",
                         [](const json& v) -> std::optional<std::string> {
                           if (v.is_string() || v.is_number_integer() || v.is_number_unsigned()) {
                             return as_text(v);
                           }
                           return std::nullopt;
                         });
  s.started_at = r.get<TimePoint>("started_at", mapping.started_at, "an RFC 3339 time", as_time);
  s.bitrate_kbps = r.get<double>("bitrate_kbps", mapping.bitrate_kbps, "a number", as_number);
  s.fps = r.get<double>("fps", mapping.fps, "a number", as_number);
  s.dropped_frames = r.get<std::int64_t>("dropped_frames", mapping.dropped_frames,
                                         "a non-negative integer", as_count);
  s.chat_messages = r.get<std::int64_t>("chat_messages", mapping.chat_messages,
                                        "a non-negative integer", as_count);
  s.chatters =
      r.get<std::int64_t>("chatters", mapping.chatters, "a non-negative integer", as_count);
  if (r.error) return PollResult::failure(*r.error);
  return std::vector<Sample>{std::move(s)};
}

namespace {

const config::TableSpec& fields_spec() {
  static const config::TableSpec spec{{
      {.name = "live", .required = true, .description = "JSON Pointer to a boolean."},
      {.name = "viewers", .description = "JSON Pointer to an integer."},
      {.name = "title", .description = "JSON Pointer to a string."},
      {.name = "category", .description = "JSON Pointer to a string."},
      {.name = "stream_id", .description = "JSON Pointer to a string or integer."},
      {.name = "started_at", .description = "JSON Pointer to an RFC 3339 string."},
      {.name = "bitrate_kbps", .description = "JSON Pointer to a number."},
      {.name = "fps", .description = "JSON Pointer to a number."},
      {.name = "dropped_frames", .description = "JSON Pointer to an integer."},
      {.name = "chat_messages", .description = "JSON Pointer to an integer."},
      {.name = "chatters", .description = "JSON Pointer to an integer."},
  }};
  return spec;
}

// Keys of an `http_json` [[source]] table: single_stream_source_spec() and `fields`.
const config::TableSpec& spec() {
  static const config::TableSpec spec =
      config::extend(single_stream_source_spec(),
                     {{.name = "fields",
                       .type = config::ValueType::table,
                       .required = true,
                       .description = "Sample field -> JSON Pointer into the response.",
                       .nested = &fields_spec()}});
  return spec;
}

// Builds the source; throws config::ConfigError for an invalid JSON Pointer or secret.
std::unique_ptr<Source> create(const SourceConfig& source, const std::string& config_path) {
  http::Request request = base_request(source, config_path);
  const auto fields = source.section.table("fields");
  config::Diagnostics diag(config_path);
  auto pointer = [&](const char* key) -> std::optional<Pointer> {
    const auto text = fields.optional_string(key);
    if (!text) return std::nullopt;
    try {
      return Pointer(*text);
    } catch (const json::exception& e) {
      std::string why = e.what();
      if (const auto pos = why.find("] "); pos != std::string::npos) why = why.substr(pos + 2);
      diag.error(fields.position(key), fields.context(), key,
                 "invalid JSON Pointer \"" + *text + "\": " + why);
      return std::nullopt;
    }
  };
  Mapping m;
  m.channel = channel_name(source);
  auto live = pointer("live");
  m.viewers = pointer("viewers");
  m.title = pointer("title");
  m.category = pointer("category");
  m.stream_id = pointer("stream_id");
  m.started_at = pointer("started_at");
  m.bitrate_kbps = pointer("bitrate_kbps");
  m.fps = pointer("fps");
  m.dropped_frames = pointer("dropped_frames");
  m.chat_messages = pointer("chat_messages");
  m.chatters = pointer("chatters");
  diag.throw_if_any();
  if (live) m.live = *live;
  return std::make_unique<SingleRequestSource>(
      std::move(request), BodyKind::json,
      [m = std::move(m)](std::string_view body, TimePoint) { return parse(body, m); });
}

}  // namespace

SourceTypeInfo source_type() {
  return {
      .type = "http_json",
      .spec = &spec,
      .create = &create,
      .example = {
          .comment = "Any JSON endpoint, fields mapped with JSON Pointers (RFC 6901). `live` is "
                     "required (a boolean); the others are optional: viewers, title, category, "
                     "stream_id, started_at (RFC 3339), bitrate_kbps, fps, dropped_frames, "
                     "chat_messages, chatters. A pointer that finds nothing (or null) leaves the "
                     "field unknown; a value of the wrong type fails the poll.",
          .toml = "type = \"http_json\"\nname = \"studio\"\nurl = "
                  "\"http://127.0.0.1:8000/status.json\"\nchannel = \"main\"\ninterval = \"5s\"\n"
                  "bearer_token_file = \"studio.token\"\n[source.fields]\nlive = \"/online\"\n"
                  "viewers = \"/stats/viewers\"\n"}};
}

}  // namespace streamtrack::agent::sources::http_json
