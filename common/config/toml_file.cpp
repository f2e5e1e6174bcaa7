#include "common/config/toml_file.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/config/schema.hpp"

namespace streamtrack::config {

namespace fs = std::filesystem;

toml::table parse_toml_text(std::string_view text, const std::string& name) {
  try {
    return toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    const auto& begin = e.source().begin;
    throw ConfigError({name + ":" + std::to_string(begin.line) + ":" +
                       std::to_string(begin.column) +
                       ": syntax error: " + std::string(e.description())});
  }
}

toml::table parse_toml_file(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw ConfigError({path + ": is a directory, not a config file"});
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw ConfigError({path + ": cannot open config file: " + std::strerror(errno)});
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) throw ConfigError({path + ": cannot read config file"});
  return parse_toml_text(buf.str(), path);
}

void merge_into(toml::table& base, toml::table&& overlay) {
  for (auto&& [key, value] : overlay) {
    toml::node* existing = base.get(key.str());
    if (existing && existing->is_table() && value.is_table()) {
      merge_into(*existing->as_table(), std::move(*value.as_table()));
      continue;
    }
    if (existing && existing->is_array_of_tables() && value.is_array_of_tables()) {
      auto& target = *existing->as_array();
      for (auto&& entry : *value.as_array()) target.push_back(std::move(*entry.as_table()));
      continue;
    }
    if (existing) {
      base.insert_or_assign(key, std::move(value));
    } else {
      base.insert(key, std::move(value));
    }
  }
}

Document load_toml_with_dropins(const std::string& path, std::string_view dropin_dir) {
  std::vector<std::string> errors;
  Document doc;
  doc.table = std::make_shared<toml::table>();
  try {
    *doc.table = parse_toml_file(path);
  } catch (const ConfigError& e) {
    errors.insert(errors.end(), e.messages().begin(), e.messages().end());
  }
  doc.files.push_back(path);

  const fs::path dir = fs::path(path).parent_path() / std::string(dropin_dir);
  std::error_code ec;
  const auto status = fs::status(dir, ec);
  std::vector<std::string> names;
  if (fs::exists(status)) {
    if (!fs::is_directory(status)) {
      errors.push_back(dir.string() + ": drop-in path is not a directory");
    } else {
      fs::directory_iterator it(dir, ec);
      if (ec) errors.push_back(dir.string() + ": cannot read drop-in directory: " + ec.message());
      for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.empty() || name.front() == '.') continue;
        if (name.size() <= 5 || name.compare(name.size() - 5, 5, ".toml") != 0) continue;
        names.push_back(name);
      }
      if (ec) errors.push_back(dir.string() + ": cannot read drop-in directory: " + ec.message());
    }
  }
  std::sort(names.begin(), names.end());  // byte order, whatever the locale
  for (const auto& name : names) {
    const std::string file = (dir / name).string();
    std::error_code type_ec;
    if (!fs::is_regular_file(file, type_ec)) {  // follows symbolic links
      errors.push_back(file + ": not a regular file (drop-ins must be files named *.toml)");
      continue;
    }
    try {
      merge_into(*doc.table, parse_toml_file(file));
      doc.files.push_back(file);
    } catch (const ConfigError& e) {
      errors.insert(errors.end(), e.messages().begin(), e.messages().end());
    }
  }
  if (!errors.empty()) throw ConfigError(std::move(errors));
  return doc;
}

}  // namespace streamtrack::config
