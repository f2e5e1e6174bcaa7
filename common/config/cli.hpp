#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <iostream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/config/schema.hpp"

// The configuration part of every daemon's main: -c/--config, --check-config and the
// `config example` subcommand, declared and dispatched the same way. Header-only where it
// touches CLI11, which only the executables link.
namespace streamtrack::config {

struct ConfigFlags {
  std::string path;
  bool check = false;
  CLI::App* config_command = nullptr;  // `config example`
};

// Declares -c/--config (default `default_path`), --check-config and `config example` on `cli`;
// their values land in `flags` when `cli` is parsed.
inline void add_config_flags(CLI::App& cli, ConfigFlags& flags, std::string default_path) {
  flags.path = std::move(default_path);
  cli.add_option("-c,--config", flags.path, "Configuration file")->capture_default_str();
  cli.add_flag("--check-config", flags.check, "Validate the configuration, print errors, exit");
  flags.config_command = cli.add_subcommand("config", "Configuration tools");
  flags.config_command->require_subcommand(1);
  flags.config_command->add_subcommand(
      "example",
      "Print the full commented configuration (every key, its default, constraints and "
      "whether SIGHUP applies it), generated from the key declarations");
}

// Prints "drop-ins read: <files after the first>" (when there are any), then
// "<path>: OK<summary>", on stdout.
void print_config_ok(const std::vector<std::string>& files, std::string_view path,
                     std::string_view summary);

// Prints each message of `error` on stderr.
void print_config_errors(const ConfigError& error);

// What main does with the parsed flags before running: `config example` prints `example()`
// and ends (exit 0); otherwise the file is loaded with `load`, and a configuration error is
// printed and ends (exit 1); --check-config prints what print_config_ok prints, with
// `summary(config)`, and ends (exit 0). Returns the configuration when main goes on, else the
// exit code.
template <typename Config>
std::variant<Config, int> resolve_config(const ConfigFlags& flags,
                                         const std::function<std::string()>& example,
                                         const std::function<Config(const std::string&)>& load,
                                         const std::function<std::string(const Config&)>& summary) {
  if (flags.config_command->parsed()) {
    std::cout << example();
    return 0;
  }
  Config config;
  try {
    config = load(flags.path);
  } catch (const ConfigError& e) {
    print_config_errors(e);
    return 1;
  }
  if (flags.check) {
    print_config_ok(config.files, flags.path, summary(config));
    return 0;
  }
  return config;
}

}  // namespace streamtrack::config
