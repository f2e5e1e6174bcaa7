#include "common/config/cli.hpp"

#include <iostream>

namespace streamtrack::config {

void print_config_ok(const std::vector<std::string>& files, std::string_view path,
                     std::string_view summary) {
  if (files.size() > 1) {
    std::cout << "drop-ins read:";
    for (std::size_t i = 1; i < files.size(); ++i) std::cout << " " << files[i];
    std::cout << "\n";
  }
  std::cout << path << ": OK" << summary << "\n";
}

void print_config_errors(const ConfigError& error) {
  for (const auto& m : error.messages()) std::cerr << m << "\n";
}

}  // namespace streamtrack::config
