#include "common/config/example.hpp"

#include <cstdio>
#include <sstream>

#include "common/util/duration.hpp"

namespace streamtrack::config {

namespace {

constexpr std::size_t k_width = 100;

// A TOML basic string: double quotes, with \, " and control characters escaped.
std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "\\u%04x",
                    static_cast<unsigned>(static_cast<unsigned char>(c)));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// Word-wraps `text` into comment lines starting with `prefix`.
void comment(std::string& out, std::string_view text, std::string_view prefix = "# ") {
  std::istringstream paragraphs{std::string(text)};
  std::string paragraph;
  while (std::getline(paragraphs, paragraph)) {
    std::istringstream words(paragraph);
    std::string word;
    std::string line;
    while (words >> word) {
      if (!line.empty() && prefix.size() + line.size() + 1 + word.size() > k_width) {
        out += std::string(prefix) + line + "\n";
        line.clear();
      }
      line += (line.empty() ? "" : " ") + word;
    }
    out += line.empty() ? std::string(prefix.substr(0, prefix.find_last_not_of(' ') + 1)) + "\n"
                        : std::string(prefix) + line + "\n";
  }
}

std::string limit_text(const KeySpec& k, std::int64_t v) {
  if (k.type == ValueType::duration) return quoted(format_duration(std::chrono::milliseconds{v}));
  return std::to_string(v);
}

bool has_default(const KeySpec& k) {
  return !std::holds_alternative<std::monostate>(k.default_value);
}

std::string placeholder(const KeySpec& k) {
  switch (k.type) {
    case ValueType::integer:
      return "0";
    case ValueType::floating:
      return "0.0";
    case ValueType::boolean:
      return "false";
    case ValueType::string_list:
      return "[]";
    default:
      return "\"\"";
  }
}

// "Default: ... Range ... One of ... Applied on SIGHUP." for one key.
std::string facts(const KeySpec& k, bool reloads) {
  std::string out;
  if (k.required) out += "Required. ";
  if (has_default(k)) out += "Default: " + toml_literal(k.default_value, k.type) + ". ";
  if (k.min && k.max) {
    out += "From " + limit_text(k, *k.min) + " to " + limit_text(k, *k.max) + ". ";
  } else if (k.min) {
    out += "At least " + limit_text(k, *k.min) + ". ";
  } else if (k.max) {
    out += "At most " + limit_text(k, *k.max) + ". ";
  }
  if (!k.one_of.empty()) {
    out += "One of ";
    for (std::size_t i = 0; i < k.one_of.size(); ++i) {
      out += (i ? ", " : "") + quoted(k.one_of[i]);
    }
    out += ". ";
  }
  out += reloads ? "Applied on SIGHUP." : "Applied at start (restart to change).";
  return out;
}

void render_key(std::string& out, const KeySpec& k) {
  std::string text = k.description;
  if (!text.empty() && text.back() != '.' && text.back() != ')') text += '.';
  comment(out, text.empty() ? facts(k, k.reloads) : text + " " + facts(k, k.reloads));
  const std::string value = !k.example.empty() ? k.example
                            : has_default(k)   ? toml_literal(k.default_value, k.type)
                                               : placeholder(k);
  out += (k.required || k.example_active ? "" : "# ") + k.name + " = " + value + "\n";
}

void render_table(std::string& out, const std::string& path, const TableSpec& spec,
                  const KeySpec* declared);

// The keys an entry of a table array takes, as a comment.
void render_entry_keys(std::string& out, const TableSpec& spec, bool reloads,
                       std::string_view indent) {
  for (const auto& k : spec.keys) {
    std::string text = k.name + ": " + k.description;
    if (!text.empty() && text.back() != '.' && text.back() != ')') text += '.';
    text += " " + facts(k, reloads || k.reloads);
    comment(out, text, std::string("# ") + std::string(indent));
  }
}

void render_array(std::string& out, const std::string& path, const KeySpec& k) {
  out += "\n";
  std::string text = k.description;
  if (!text.empty() && text.back() != '.') text += '.';
  text += k.reloads ? " Entries are applied on SIGHUP." : " Entries are applied at start.";
  comment(out, text);
  if (k.nested && !k.nested->keys.empty()) {
    out += "# Keys of each [[" + path + "]]:\n";
    render_entry_keys(out, *k.nested, k.reloads, "  ");
  }
  for (const auto& e : k.examples) {
    out += "\n";
    if (!e.comment.empty()) comment(out, e.comment);
    const std::string prefix = e.active ? "" : "# ";
    out.append(prefix).append("[[").append(path).append("]]\n");
    std::istringstream lines(e.toml);
    std::string line;
    while (std::getline(lines, line)) out += (line.empty() ? "" : prefix) + line + "\n";
  }
}

void render_table(std::string& out, const std::string& path, const TableSpec& spec,
                  const KeySpec* declared) {
  out += "\n";
  std::string text = spec.description;
  if (declared && !declared->description.empty() && text.empty()) text = declared->description;
  if (!text.empty()) comment(out, text);
  out += "[" + path + "]\n";
  bool first = true;
  for (const auto& k : spec.keys) {
    if (k.type == ValueType::table || k.type == ValueType::table_array) continue;
    if (!first) out += "\n";
    first = false;
    render_key(out, k);
  }
  for (const auto& k : spec.keys) {
    if (k.type == ValueType::table && k.nested) {
      render_table(out, path + "." + k.name, *k.nested, &k);
    } else if (k.type == ValueType::table) {
      out += "\n";
      std::string d = k.description;
      comment(out, d + (k.reloads ? " Applied on SIGHUP." : " Applied at start."));
      out += "# [" + path + "." + k.name + "]\n";
    } else if (k.type == ValueType::table_array) {
      render_array(out, path + "." + k.name, k);
    }
  }
}

}  // namespace

std::string toml_literal(const DefaultValue& value, ValueType type) {
  if (const auto* s = std::get_if<std::string>(&value)) return quoted(*s);
  if (const auto* i = std::get_if<std::int64_t>(&value)) {
    if (type == ValueType::floating) return std::to_string(*i) + ".0";
    return std::to_string(*i);
  }
  if (const auto* d = std::get_if<double>(&value)) {
    std::ostringstream out;
    out << toml::value<double>(*d);
    return out.str();
  }
  if (const auto* b = std::get_if<bool>(&value)) return *b ? "true" : "false";
  if (const auto* list = std::get_if<std::vector<std::string>>(&value)) {
    std::string out = "[";
    for (std::size_t i = 0; i < list->size(); ++i) out += (i ? ", " : "") + quoted((*list)[i]);
    return out + "]";
  }
  return "\"\"";
}

std::string render_example(const TableSpec& root, std::string_view header) {
  std::string out;
  comment(out, header);
  for (const auto& k : root.keys) {  // plain keys first: they belong to no table
    if (k.type == ValueType::table || k.type == ValueType::table_array) continue;
    out += "\n";
    render_key(out, k);
  }
  for (const auto& k : root.keys) {
    if (k.type == ValueType::table && k.nested) {
      render_table(out, k.name, *k.nested, &k);
    } else if (k.type == ValueType::table_array) {
      render_array(out, k.name, k);
    }
  }
  return out;
}

}  // namespace streamtrack::config
