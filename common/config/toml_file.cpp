#include "common/config/toml_file.hpp"

#include <fstream>
#include <sstream>

#include "common/config/schema.hpp"

namespace streamtrack::config {

toml::table parse_toml_text(std::string_view text, const std::string& name) {
  try {
    return toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    const auto& begin = e.source().begin;
    throw ConfigError({name + ":" + std::to_string(begin.line) + ":" +
                       std::to_string(begin.column) + ": syntax error: " +
                       std::string(e.description())});
  }
}

toml::table parse_toml_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError({path + ": cannot open config file"});
  std::ostringstream buf;
  buf << in.rdbuf();
  return parse_toml_text(buf.str(), path);
}

}  // namespace streamtrack::config
