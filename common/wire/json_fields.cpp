#include "common/wire/json_fields.hpp"

namespace streamtrack::wire::detail {

std::string format_number(double d) {
  json j = d;
  return j.dump();
}

namespace {

// True when `text` opens more than `limit` arrays or objects inside each other (brackets inside
// strings are text). Checked before parsing: nlohmann parses and frees any depth without
// recursion, but writing a value back out (a frame element's reject text) recurses once per
// level, and no sample, frame or ack needs more than a few levels.
bool nested_deeper_than(std::string_view text, std::size_t limit) {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character, whatever it is
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

}  // namespace

std::optional<std::string> payload_problem(std::string_view payload, std::size_t max_bytes) {
  if (payload.size() > max_bytes) {
    return "payload too large: " + std::to_string(payload.size()) + " bytes (limit " +
           std::to_string(max_bytes) + ")";
  }
  // JSON text never holds a raw NUL (inside a string it must be escaped), and nlohmann's
  // parser would take one for the end of the input and ignore whatever follows it.
  if (const auto nul = payload.find('\0'); nul != std::string_view::npos) {
    return "invalid JSON at byte " + std::to_string(nul + 1);
  }
  if (nested_deeper_than(payload, k_max_json_depth)) {
    return "nesting deeper than " + std::to_string(k_max_json_depth) + " levels";
  }
  return std::nullopt;
}

Result<json> parse_object(std::string_view payload, std::size_t max_bytes) {
  if (auto problem = payload_problem(payload, max_bytes)) {
    return Result<json>::failure(std::move(*problem));
  }
  json doc;
  try {
    doc = json::parse(payload.begin(), payload.end());
  } catch (const json::parse_error& e) {
    return Result<json>::failure("invalid JSON at byte " + std::to_string(e.byte));
  } catch (const json::out_of_range&) {
    // nlohmann reports a number beyond the range of a double (1e400) this way, not as a
    // parse_error; the text of the number stays out of the reason (it may be 64 KiB long).
    return Result<json>::failure("invalid JSON: number out of range");
  }
  if (!doc.is_object()) {
    return Result<json>::failure(std::string("expected a JSON object, got ") + json_type_name(doc));
  }
  return doc;
}

}  // namespace streamtrack::wire::detail
