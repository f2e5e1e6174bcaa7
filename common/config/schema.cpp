#include "common/config/schema.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/util/duration.hpp"

namespace streamtrack::config {

namespace {

const char* type_text(ValueType t) {
  switch (t) {
    case ValueType::string:
      return "a string";
    case ValueType::integer:
      return "an integer";
    case ValueType::floating:
      return "a number";
    case ValueType::boolean:
      return "a boolean (true or false)";
    case ValueType::duration:
      return "a duration like \"10s\"";
    case ValueType::string_list:
      return "an array of strings";
    case ValueType::table:
      return "a table";
    case ValueType::table_array:
      return "an array of tables ([[...]])";
  }
  return "a value";
}

const char* node_type_text(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "float";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::date:
      return "date";
    case toml::node_type::time:
      return "time";
    case toml::node_type::date_time:
      return "date-time";
    case toml::node_type::array:
      return "array";
    case toml::node_type::table:
      return "table";
    default:
      return "nothing";
  }
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string suggestion(std::string_view unknown, const TableSpec& spec) {
  const KeySpec* best = nullptr;
  std::size_t best_distance = 3;
  for (const auto& k : spec.keys) {
    const auto d = edit_distance(unknown, k.name);
    if (d < best_distance) {
      best_distance = d;
      best = &k;
    }
  }
  return best ? " (did you mean \"" + best->name + "\"?)" : "";
}

std::string quoted_list(const std::vector<std::string>& values) {
  std::string out;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out += ", ";
    out += '"' + values[i] + '"';
  }
  return out;
}

std::string join_context(std::string_view context, std::string_view key) {
  return context.empty() ? std::string(key) : std::string(context) + "." + std::string(key);
}

// Checks one present value against its spec.
void check_value(const toml::node& value, const KeySpec& spec, std::string_view context,
                 Diagnostics& diag) {
  const auto where = position_of(value);
  auto wrong_type = [&] {
    std::string got = node_type_text(value);
    if (const auto* s = value.as_string()) got = "\"" + s->get() + "\"";
    diag.error(where, context, spec.name,
               std::string("expected ") + type_text(spec.type) + ", got " + got);
  };
  switch (spec.type) {
    case ValueType::string: {
      const auto* s = value.as_string();
      if (!s) return wrong_type();
      if (!spec.one_of.empty() &&
          std::find(spec.one_of.begin(), spec.one_of.end(), s->get()) == spec.one_of.end()) {
        diag.error(where, context, spec.name,
                   "expected one of " + quoted_list(spec.one_of) + ", got \"" + s->get() + "\"");
      }
      return;
    }
    case ValueType::integer: {
      const auto* i = value.as_integer();
      if (!i) return wrong_type();
      if (spec.min && i->get() < *spec.min) {
        diag.error(
            where, context, spec.name,
            "must be at least " + std::to_string(*spec.min) + ", got " + std::to_string(i->get()));
      } else if (spec.max && i->get() > *spec.max) {
        diag.error(
            where, context, spec.name,
            "must be at most " + std::to_string(*spec.max) + ", got " + std::to_string(i->get()));
      }
      return;
    }
    case ValueType::floating:
      if (!value.is_number()) return wrong_type();
      return;
    case ValueType::boolean:
      if (!value.is_boolean()) return wrong_type();
      return;
    case ValueType::duration: {
      const auto* s = value.as_string();
      if (!s) return wrong_type();
      const auto d = parse_duration(s->get());
      if (!d) return wrong_type();
      if (spec.min && d->count() < *spec.min) {
        diag.error(where, context, spec.name,
                   "must be at least " + format_duration(std::chrono::milliseconds{*spec.min}) +
                       ", got \"" + s->get() + "\"");
      } else if (const auto max = std::min(spec.max.value_or(k_max_duration_ms), k_max_duration_ms);
                 d->count() > max) {
        diag.error(where, context, spec.name,
                   "must be at most " + format_duration(std::chrono::milliseconds{max}) +
                       ", got \"" + s->get() + "\"");
      }
      return;
    }
    case ValueType::string_list: {
      const auto* arr = value.as_array();
      if (!arr) return wrong_type();
      for (const auto& e : *arr) {
        const auto* s = e.as_string();
        if (!s) {
          diag.error(position_of(e), context, spec.name,
                     std::string("expected an array of strings, got an element of type ") +
                         node_type_text(e));
          return;
        }
        if (!spec.one_of.empty() &&
            std::find(spec.one_of.begin(), spec.one_of.end(), s->get()) == spec.one_of.end()) {
          diag.error(position_of(e), context, spec.name,
                     "expected one of " + quoted_list(spec.one_of) + ", got \"" + s->get() + "\"");
        }
      }
      return;
    }
    case ValueType::table: {
      const auto* t = value.as_table();
      if (!t) return wrong_type();
      const std::string nested_context = join_context(context, spec.name);
      if (spec.nested) {
        validate(*t, *spec.nested, nested_context, diag);
      } else {
        for (const auto& [k, v] : *t) {
          if (!v.is_string()) {
            diag.error(position_of(v), nested_context, k.str(),
                       std::string("expected a string, got ") + node_type_text(v));
          }
        }
      }
      return;
    }
    case ValueType::table_array: {
      const auto* arr = value.as_array();
      if (!arr || !arr->is_array_of_tables()) return wrong_type();
      return;
    }
  }
}

[[noreturn]] void bug(std::string_view what) {
  throw std::logic_error(std::string(what));
}

}  // namespace

const KeySpec* TableSpec::find(std::string_view name) const {
  for (const auto& k : keys) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

TableSpec extend(const TableSpec& base, std::vector<KeySpec> more) {
  TableSpec out = base;
  for (auto& k : more) out.keys.push_back(std::move(k));
  return out;
}

namespace {
std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) {
    if (!out.empty()) out += '\n';
    out += l;
  }
  return out;
}
}  // namespace

ConfigError::ConfigError(std::vector<std::string> messages)
    : std::runtime_error(join_lines(messages)), m_messages(std::move(messages)) {}

void Diagnostics::error(const SourcePosition& where, std::string_view context, std::string_view key,
                        std::string_view message) {
  std::string line = (where.file.empty() ? m_file : where.file) + ":" + std::to_string(where.line) +
                     ":" + std::to_string(where.column) + ": ";
  if (!context.empty()) line += std::string(context) + ": ";
  if (!key.empty()) line += std::string(key) + ": ";
  line += message;
  m_messages.push_back(std::move(line));
}

void Diagnostics::throw_if_any() const {
  if (!m_messages.empty()) throw ConfigError(m_messages);
}

namespace {
void collect_restart_only(const TableSpec& spec, const toml::table* before,
                          const toml::table* after, const std::string& prefix,
                          std::vector<std::string>& out) {
  for (const auto& k : spec.keys) {
    if (k.reloads) continue;
    const toml::node* b = before ? before->get(k.name) : nullptr;
    const toml::node* a = after ? after->get(k.name) : nullptr;
    const std::string path = prefix.empty() ? k.name : prefix + "." + k.name;
    if (k.type == ValueType::table && k.nested) {
      collect_restart_only(*k.nested, b ? b->as_table() : nullptr, a ? a->as_table() : nullptr,
                           path, out);
      continue;
    }
    if (!a && !b) continue;
    if (!a || !b ||
        !(toml::node_view<const toml::node>{a} == toml::node_view<const toml::node>{b})) {
      out.push_back(path);
    }
  }
}
}  // namespace

std::vector<std::string> restart_only_changes(const TableSpec& root, const toml::table& before,
                                              const toml::table& after) {
  std::vector<std::string> out;
  collect_restart_only(root, &before, &after, "", out);
  return out;
}

SourcePosition position_of(const toml::node& node) {
  const auto& src = node.source();
  return {src.begin.line, src.begin.column, src.path ? *src.path : std::string()};
}

Section validate(const toml::table& table, const TableSpec& spec, std::string context,
                 Diagnostics& diag) {
  for (const auto& [key, value] : table) {
    const KeySpec* k = spec.find(key.str());
    if (!k) {
      const auto& src = key.source();
      diag.error({src.begin.line, src.begin.column, src.path ? *src.path : std::string()}, context,
                 key.str(), "unknown key" + suggestion(key.str(), spec));
      continue;
    }
    check_value(value, *k, context, diag);
  }
  for (const auto& k : spec.keys) {
    if (k.required && !table.contains(k.name)) {
      diag.error(position_of(table), context, k.name, "required key is missing");
    }
  }
  return Section(&table, &spec, std::move(context));
}

Section::Section(const toml::table* table, const TableSpec* spec, std::string context)
    : m_table(table), m_spec(spec), m_context(std::move(context)) {}

const toml::node* Section::node(std::string_view key) const {
  return m_table ? m_table->get(key) : nullptr;
}

const KeySpec& Section::spec(std::string_view key, ValueType type) const {
  if (!m_spec) bug("config: section without a spec");
  const KeySpec* k = m_spec->find(key);
  if (!k) bug("config: key \"" + std::string(key) + "\" is not declared in " + m_context);
  const bool compatible =
      k->type == type || (type == ValueType::string && k->type == ValueType::duration);
  if (!compatible) bug("config: key \"" + std::string(key) + "\" read with the wrong type");
  return *k;
}

bool Section::has(std::string_view key) const {
  return node(key) != nullptr;
}

std::optional<std::string> Section::optional_string(std::string_view key) const {
  const auto& k = spec(key, ValueType::string);
  if (const auto* n = node(key); n && n->is_string()) return n->as_string()->get();
  if (const auto* d = std::get_if<std::string>(&k.default_value)) return *d;
  return std::nullopt;
}

std::string Section::string(std::string_view key) const {
  return optional_string(key).value_or("");
}

std::optional<std::int64_t> Section::optional_integer(std::string_view key) const {
  const auto& k = spec(key, ValueType::integer);
  if (const auto* n = node(key); n && n->is_integer()) return n->as_integer()->get();
  if (const auto* d = std::get_if<std::int64_t>(&k.default_value)) return *d;
  return std::nullopt;
}

std::int64_t Section::integer(std::string_view key) const {
  return optional_integer(key).value_or(0);
}

double Section::floating(std::string_view key) const {
  const auto& k = spec(key, ValueType::floating);
  if (const auto* n = node(key)) {
    if (const auto* f = n->as_floating_point()) return f->get();
    if (const auto* i = n->as_integer()) return static_cast<double>(i->get());
  }
  if (const auto* d = std::get_if<double>(&k.default_value)) return *d;
  if (const auto* i = std::get_if<std::int64_t>(&k.default_value)) return static_cast<double>(*i);
  return 0.0;
}

bool Section::boolean(std::string_view key) const {
  const auto& k = spec(key, ValueType::boolean);
  if (const auto* n = node(key); n && n->is_boolean()) return n->as_boolean()->get();
  if (const auto* d = std::get_if<bool>(&k.default_value)) return *d;
  return false;
}

std::optional<std::chrono::milliseconds> Section::optional_duration(std::string_view key) const {
  const auto& k = spec(key, ValueType::duration);
  if (const auto* n = node(key); n && n->is_string()) {
    if (auto d = parse_duration(n->as_string()->get())) return d;
  }
  if (const auto* d = std::get_if<std::string>(&k.default_value)) return parse_duration(*d);
  return std::nullopt;
}

std::chrono::milliseconds Section::duration(std::string_view key) const {
  return optional_duration(key).value_or(std::chrono::milliseconds{0});
}

std::vector<std::string> Section::strings(std::string_view key) const {
  const auto& k = spec(key, ValueType::string_list);
  if (const auto* n = node(key); n && n->is_array()) {
    std::vector<std::string> out;
    for (const auto& e : *n->as_array()) {
      if (const auto* s = e.as_string()) out.push_back(s->get());
    }
    return out;
  }
  if (const auto* d = std::get_if<std::vector<std::string>>(&k.default_value)) return *d;
  return {};
}

std::map<std::string, std::string> Section::string_map(std::string_view key) const {
  spec(key, ValueType::table);
  std::map<std::string, std::string> out;
  if (const auto* n = node(key); n && n->is_table()) {
    for (const auto& [k, v] : *n->as_table()) {
      if (const auto* s = v.as_string()) out.emplace(std::string(k.str()), s->get());
    }
  }
  return out;
}

Section Section::table(std::string_view key) const {
  const auto& k = spec(key, ValueType::table);
  const toml::table* t = nullptr;
  if (const auto* n = node(key)) t = n->as_table();
  return Section(t, k.nested, join_context(m_context, key));
}

std::vector<const toml::table*> Section::table_array(std::string_view key) const {
  spec(key, ValueType::table_array);
  std::vector<const toml::table*> out;
  if (const auto* n = node(key); n && n->is_array()) {
    for (const auto& e : *n->as_array()) {
      if (const auto* t = e.as_table()) out.push_back(t);
    }
  }
  return out;
}

SourcePosition Section::position(std::string_view key) const {
  if (!key.empty()) {
    if (const auto* n = node(key)) return position_of(*n);
  }
  return m_table ? position_of(*m_table) : SourcePosition{.line = 1, .column = 1};
}

std::optional<std::string> read_secret(const Section& section, std::string_view file_key,
                                       std::string_view credential, Diagnostics& diag) {
  namespace fs = std::filesystem;
  const char* cred_dir = std::getenv("CREDENTIALS_DIRECTORY");
  fs::path path;
  if (auto configured = section.optional_string(file_key)) {
    path = *configured;
    if (path.is_relative() && cred_dir && *cred_dir) path = fs::path(cred_dir) / path;
  } else if (cred_dir && *cred_dir && !credential.empty()) {
    path = fs::path(cred_dir) / credential;
    std::error_code ec;
    if (!fs::exists(path, ec)) return std::nullopt;
  } else {
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diag.error(section.position(file_key), section.context(), file_key,
               "cannot read secret file \"" + path.string() + "\"");
    return std::nullopt;
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  std::string secret = buf.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.empty()) {
    diag.error(section.position(file_key), section.context(), file_key,
               "secret file \"" + path.string() + "\" is empty");
    return std::nullopt;
  }
  return secret;
}

}  // namespace streamtrack::config
