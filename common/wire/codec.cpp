#include "common/wire/codec.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/wire/json_fields.hpp"
#include "common/wire/sax_reader.hpp"
#include "common/wire/utf8.hpp"

namespace streamtrack::wire {

namespace {

using ojson = nlohmann::ordered_json;
using namespace detail;

template <typename T>
void put(ojson& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}

void put_time(ojson& j, const char* key, const std::optional<TimePoint>& v) {
  if (v) j[key] = format_rfc3339(*v);
}

}  // namespace

std::string valid_text(std::string_view text) {
  constexpr std::string_view k_replacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto d = utf8::decode_at(text, i);
    if (d.length == 0 || d.code_point == 0) {
      out += k_replacement;
      ++i;
      continue;
    }
    out.append(text.substr(i, d.length));
    i += d.length;
  }
  return out;
}

void make_text_valid(Sample& s) {
  const auto fix = [](std::string& t) { t = valid_text(t); };
  const auto fix_optional = [&](std::optional<std::string>& t) {
    if (t) fix(*t);
  };
  fix(s.agent);
  fix(s.platform);
  fix(s.channel);
  fix_optional(s.stream_id);
  fix_optional(s.title);
  fix_optional(s.category);
  fix_optional(s.video_codec);
  fix_optional(s.audio_codec);
}

namespace {

// The general encoder: also right for text that is not valid UTF-8 (replaced).
std::string encode_sample_tree(const Sample& s) {
  ojson j;
  j["schema"] = Sample::k_schema;
  j["agent"] = s.agent;
  j["seq"] = s.seq;
  j["ts"] = format_rfc3339(s.ts);
  j["platform"] = s.platform;
  j["channel"] = s.channel;
  j["live"] = s.live;
  put(j, "viewers", s.viewers);
  put(j, "stream_id", s.stream_id);
  put(j, "title", s.title);
  put(j, "category", s.category);
  put_time(j, "started_at", s.started_at);
  put(j, "chat_messages", s.chat_messages);
  put(j, "chatters", s.chatters);
  put(j, "bitrate_kbps", s.bitrate_kbps);
  put(j, "fps", s.fps);
  put(j, "dropped_frames", s.dropped_frames);
  put(j, "width", s.width);
  put(j, "height", s.height);
  put(j, "video_codec", s.video_codec);
  put(j, "audio_codec", s.audio_codec);
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

bool valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto d = utf8::decode_at(text, i);
    if (d.length == 0) return false;
    i += d.length;
  }
  return true;
}

// Writes the same bytes as nlohmann's dump() of the tree, without building the tree.
class SampleWriter {
 public:
  explicit SampleWriter(std::string& out) : m_out(out) {}

  void key(const char* k) {
    m_out += m_first ? "{\"" : ",\"";
    m_first = false;
    m_out += k;
    m_out += "\":";
  }
  void string(const char* k, const std::string& v) {
    key(k);
    m_out += '"';
    for (const char c : v) {
      switch (c) {
        case '"':
          m_out += "\\\"";
          break;
        case '\\':
          m_out += "\\\\";
          break;
        case '\b':
          m_out += "\\b";
          break;
        case '\f':
          m_out += "\\f";
          break;
        case '\n':
          m_out += "\\n";
          break;
        case '\r':
          m_out += "\\r";
          break;
        case '\t':
          m_out += "\\t";
          break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
            m_out += buf;
          } else {
            m_out += c;
          }
      }
    }
    m_out += '"';
  }
  void string(const char* k, const std::optional<std::string>& v) {
    if (v) string(k, *v);
  }
  void integer(const char* k, std::int64_t v) {
    key(k);
    m_out += std::to_string(v);
  }
  void integer(const char* k, const std::optional<std::int64_t>& v) {
    if (v) integer(k, *v);
  }
  void number(const char* k, const std::optional<double>& v) {
    if (!v) return;
    key(k);
    m_out += json(*v).dump();
  }
  void boolean(const char* k, bool v) {
    key(k);
    m_out += v ? "true" : "false";
  }
  void time(const char* k, const std::optional<TimePoint>& v) {
    if (v) string(k, format_rfc3339(*v));
  }
  void close() { m_out += '}'; }

 private:
  std::string& m_out;
  bool m_first = true;
};

}  // namespace

std::string encode_sample(const Sample& s) {
  for (const auto* text : {&s.agent, &s.platform, &s.channel}) {
    if (!valid_utf8(*text)) return encode_sample_tree(s);
  }
  for (const auto* text : {&s.stream_id, &s.title, &s.category, &s.video_codec, &s.audio_codec}) {
    if (*text && !valid_utf8(**text)) return encode_sample_tree(s);
  }
  std::string out;
  out.reserve(256 + s.title.value_or("").size());
  SampleWriter w(out);
  w.integer("schema", Sample::k_schema);
  w.string("agent", s.agent);
  w.integer("seq", s.seq);
  w.string("ts", format_rfc3339(s.ts));
  w.string("platform", s.platform);
  w.string("channel", s.channel);
  w.boolean("live", s.live);
  w.integer("viewers", s.viewers);
  w.string("stream_id", s.stream_id);
  w.string("title", s.title);
  w.string("category", s.category);
  w.time("started_at", s.started_at);
  w.integer("chat_messages", s.chat_messages);
  w.integer("chatters", s.chatters);
  w.number("bitrate_kbps", s.bitrate_kbps);
  w.number("fps", s.fps);
  w.integer("dropped_frames", s.dropped_frames);
  w.integer("width", s.width);
  w.integer("height", s.height);
  w.string("video_codec", s.video_codec);
  w.string("audio_codec", s.audio_codec);
  w.close();
  return out;
}

namespace {

constexpr std::string_view k_sample_keys[] = {
    "schema",        "agent",       "seq",          "ts",    "platform",       "channel",
    "live",          "viewers",     "stream_id",    "title", "category",       "started_at",
    "chat_messages", "chatters",    "bitrate_kbps", "fps",   "dropped_frames", "width",
    "height",        "video_codec", "audio_codec"};

}  // namespace

std::span<const std::string_view> detail::sample_keys() {
  return k_sample_keys;
}

Result<Sample> decode_sample(std::string_view payload) {
  if (auto problem = payload_problem(payload, k_max_payload_bytes)) {
    return Result<Sample>::failure(std::move(*problem));
  }
  FlatObject fields(k_sample_keys);
  const auto read = sax_read(payload, fields);
  if (read.error) return Result<Sample>::failure(*read.error);
  if (read.root_type != json::value_t::object) {
    return Result<Sample>::failure(std::string("expected a JSON object, got ") +
                                   json_type_name(read.root_type));
  }
  return sample_from_fields(fields);
}

Result<Sample> detail::sample_from_fields(const FlatObject& doc) {
  BasicFieldReader<FlatObject> r(doc);
  Sample s;
  const auto schema = r.integer("schema", true, 0, k_max_safe_integer);
  if (schema && *schema != Sample::k_schema) {
    r.field_fail("schema", "unsupported version " + std::to_string(*schema) + " (expected 1)");
  }
  s.agent = r.string("agent", true, k_max_name_bytes, false).value_or("");
  s.seq = r.integer("seq", true, 1, k_max_safe_integer).value_or(0);
  s.ts = r.timestamp("ts", true).value_or(TimePoint{});
  s.platform = r.string("platform", true, k_max_name_bytes, false).value_or("");
  s.channel = r.string("channel", true, k_max_name_bytes, false).value_or("");
  s.live = r.boolean("live", true).value_or(false);
  s.viewers = r.integer("viewers", false, 0, k_max_int32);
  s.stream_id = r.string("stream_id", false, k_max_name_bytes);
  s.title = r.string("title", false, k_max_text_bytes);
  s.category = r.string("category", false, k_max_text_bytes);
  s.started_at = r.timestamp("started_at", false);
  s.chat_messages = r.integer("chat_messages", false, 0, k_max_int32);
  s.chatters = r.integer("chatters", false, 0, k_max_int32);
  s.bitrate_kbps = r.number("bitrate_kbps", false, 0, 10'000'000);
  s.fps = r.number("fps", false, 0, 1000);
  s.dropped_frames = r.integer("dropped_frames", false, 0, k_max_safe_integer);
  s.width = r.integer("width", false, 0, 65535);
  s.height = r.integer("height", false, 0, 65535);
  s.video_codec = r.string("video_codec", false, k_max_name_bytes);
  s.audio_codec = r.string("audio_codec", false, k_max_name_bytes);
  if (r.failed()) return Result<Sample>::failure(r.error());
  return s;
}

namespace {

// The checks of decode_sample, applied to the values themselves (no JSON in between).
class SampleChecker {
 public:
  bool failed() const { return !m_error.empty(); }
  const std::string& error() const { return m_error; }

  void name(const char* key, const std::string& v, bool allow_empty, std::size_t max_bytes) {
    if (failed()) return;
    if (v.empty() && !allow_empty) return field_fail(key, "must not be empty");
    if (v.find('\0') != std::string::npos) return field_fail(key, "contains a NUL character");
    if (v.size() > max_bytes) {
      return field_fail(key, "too long: " + std::to_string(v.size()) + " bytes (limit " +
                                 std::to_string(max_bytes) + ")");
    }
    for (std::size_t i = 0; i < v.size();) {
      const auto d = utf8::decode_at(v, i);
      if (d.length == 0) return field_fail(key, "not valid UTF-8");
      i += d.length;
    }
  }
  void text(const char* key, const std::optional<std::string>& v, std::size_t max_bytes) {
    if (v) name(key, *v, true, max_bytes);
  }
  void integer(const char* key, const std::optional<std::int64_t>& v, std::int64_t min,
               std::int64_t max) {
    if (failed() || !v) return;
    if (*v < min || *v > max) {
      field_fail(key, "out of range: " + std::to_string(*v) + " (expected " + std::to_string(min) +
                          ".." + std::to_string(max) + ")");
    }
  }
  void number(const char* key, const std::optional<double>& v, double min, double max) {
    if (failed() || !v) return;
    // The encoder writes a NaN or an infinity as null.
    if (!std::isfinite(*v)) return field_fail(key, "expected a number, got null");
    if (*v < min || *v > max) {
      field_fail(key, "out of range: " + format_number(*v) + " (expected " + format_number(min) +
                          ".." + format_number(max) + ")");
    }
  }
  void timestamp(const char* key, const std::optional<TimePoint>& v) {
    if (failed() || !v) return;
    const auto text = format_rfc3339(*v);
    if (!parse_rfc3339(text)) {
      field_fail(key, "not an RFC 3339 timestamp: \"" + text + "\"");
    }
  }

 private:
  void field_fail(const char* key, const std::string& what) {
    if (m_error.empty()) m_error = std::string("field \"") + key + "\": " + what;
  }
  std::string m_error;
};

}  // namespace

std::optional<std::string> sample_problem(const Sample& s) {
  SampleChecker c;
  c.name("agent", s.agent, false, k_max_name_bytes);
  c.timestamp("ts", s.ts);
  c.name("platform", s.platform, false, k_max_name_bytes);
  c.name("channel", s.channel, false, k_max_name_bytes);
  c.integer("viewers", s.viewers, 0, k_max_int32);
  c.text("stream_id", s.stream_id, k_max_name_bytes);
  c.text("title", s.title, k_max_text_bytes);
  c.text("category", s.category, k_max_text_bytes);
  c.timestamp("started_at", s.started_at);
  c.integer("chat_messages", s.chat_messages, 0, k_max_int32);
  c.integer("chatters", s.chatters, 0, k_max_int32);
  c.number("bitrate_kbps", s.bitrate_kbps, 0, 10'000'000);
  c.number("fps", s.fps, 0, 1000);
  c.integer("dropped_frames", s.dropped_frames, 0, k_max_safe_integer);
  c.integer("width", s.width, 0, 65535);
  c.integer("height", s.height, 0, 65535);
  c.text("video_codec", s.video_codec, k_max_name_bytes);
  c.text("audio_codec", s.audio_codec, k_max_name_bytes);
  if (c.failed()) return c.error();
  return std::nullopt;
}

std::string encode_status(const Status& s) {
  ojson j;
  j["state"] = s.state;
  put(j, "reason", s.reason);
  put(j, "version", s.version);
  put_time(j, "started_at", s.started_at);
  put(j, "sources", s.sources);
  put_time(j, "ts", s.ts);
  return j.dump();
}

Result<Status> decode_status(std::string_view payload) {
  return decode_object<Status>(payload, k_max_payload_bytes, [](FieldReader& r, Status& s) {
    s.state = r.string("state", true, k_max_name_bytes, false).value_or("");
    if (!r.failed() && s.state != "online" && s.state != "offline") {
      r.field_fail("state", "expected \"online\" or \"offline\", got \"" + s.state + "\"");
    }
    s.reason = r.string("reason", false, k_max_text_bytes);
    s.version = r.string("version", false, k_max_name_bytes);
    s.started_at = r.timestamp("started_at", false);
    s.sources = r.integer("sources", false, 0, k_max_int32);
    s.ts = r.timestamp("ts", false);
  });
}

std::string encode_health(const Health& h) {
  ojson j;
  j["ts"] = format_rfc3339(h.ts);
  j["buffer"] = {{"depth", h.buffer_depth},
                 {"bytes", h.buffer_bytes},
                 {"dropped", h.dropped},
                 {"last_seq", h.last_seq}};
  if (h.oldest_unsent_age_s) j["buffer"]["oldest_unsent_age_s"] = *h.oldest_unsent_age_s;
  j["sources"] = ojson::array();
  for (const auto& src : h.sources) {
    ojson e;
    e["name"] = src.name;
    e["type"] = src.type;
    put_time(e, "last_success", src.last_success);
    e["polls"] = src.polls;
    e["errors"] = src.errors;
    e["consecutive_errors"] = src.consecutive_errors;
    put(e, "last_error", src.last_error);
    j["sources"].push_back(std::move(e));
  }
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<Health> decode_health(std::string_view payload) {
  return decode_object<Health>(payload, k_max_payload_bytes, [](FieldReader& r, Health& h) {
    h.ts = r.timestamp("ts", true).value_or(TimePoint{});
    if (const json* buffer = r.find("buffer", true)) {
      if (!buffer->is_object()) {
        r.field_fail("buffer", std::string("expected an object, got ") + json_type_name(*buffer));
      } else {
        FieldReader b(*buffer, "buffer.");
        h.buffer_depth = b.integer("depth", true, 0, k_max_safe_integer).value_or(0);
        h.buffer_bytes = b.integer("bytes", true, 0, k_max_safe_integer).value_or(0);
        h.dropped = b.integer("dropped", true, 0, k_max_safe_integer).value_or(0);
        h.last_seq = b.integer("last_seq", false, 0, k_max_safe_integer).value_or(0);
        h.oldest_unsent_age_s = b.number("oldest_unsent_age_s", false, 0, 1e12);
        if (b.failed()) r.fail(b.error());
      }
    }
    if (const json* sources = r.find("sources", true)) {
      if (!sources->is_array()) {
        r.field_fail("sources", std::string("expected an array, got ") + json_type_name(*sources));
      } else {
        for (std::size_t i = 0; i < sources->size() && !r.failed(); ++i) {
          const json& e = (*sources)[i];
          const std::string where = "sources[" + std::to_string(i) + "]";
          if (!e.is_object()) {
            r.fail("field \"" + where + "\": expected an object, got " + json_type_name(e));
            break;
          }
          FieldReader sr(e, where + ".");
          SourceHealth sh;
          sh.name = sr.string("name", true, k_max_name_bytes, false).value_or("");
          sh.type = sr.string("type", true, k_max_name_bytes, false).value_or("");
          sh.last_success = sr.timestamp("last_success", false);
          sh.polls = sr.integer("polls", true, 0, k_max_safe_integer).value_or(0);
          sh.errors = sr.integer("errors", true, 0, k_max_safe_integer).value_or(0);
          sh.consecutive_errors =
              sr.integer("consecutive_errors", true, 0, k_max_safe_integer).value_or(0);
          sh.last_error = sr.string("last_error", false, k_max_text_bytes);
          if (sr.failed()) r.fail(sr.error());
          h.sources.push_back(std::move(sh));
        }
      }
    }
  });
}

}  // namespace streamtrack::wire
