// streamtrack-web: flags, config, dispatch. Everything else lives in web_core.
#include <CLI/CLI.hpp>
#include <iostream>

#include "common/version.hpp"
#include "web/app.hpp"

int main(int argc, char** argv) {
  using namespace streamtrack;
  CLI::App cli{"streamtrack-web: the StreamTrack dashboard, JSON API and live updates"};
  std::string config_path = "/etc/streamtrack/web.toml";
  bool check_config = false;
  bool version = false;
  cli.add_option("-c,--config", config_path, "Configuration file")->capture_default_str();
  cli.add_flag("--check-config", check_config, "Validate the configuration, print errors, exit");
  cli.add_flag("--version", version, "Print the version and exit");
  auto* config_command = cli.add_subcommand("config", "Configuration tools");
  config_command->require_subcommand(1);
  config_command->add_subcommand(
      "example",
      "Print the full commented configuration (every key, its default, constraints and "
      "whether SIGHUP applies it), generated from the key declarations");
  CLI11_PARSE(cli, argc, argv);

  if (version) {
    std::cout << "streamtrack-web " << k_version << "\n";
    return 0;
  }
  if (config_command->parsed()) {
    std::cout << web::web_config_example();
    return 0;
  }
  web::WebConfig config;
  try {
    config = web::load_web_config(config_path);
  } catch (const config::ConfigError& e) {
    for (const auto& m : e.messages()) std::cerr << m << "\n";
    return 1;
  }
  if (check_config) {
    if (config.files.size() > 1) {
      std::cout << "drop-ins read:";
      for (std::size_t i = 1; i < config.files.size(); ++i) std::cout << " " << config.files[i];
      std::cout << "\n";
    }
    std::cout << config_path << ": OK\n";
    return 0;
  }
  try {
    return web::run_daemon(std::move(config));
  } catch (const std::exception& e) {
    std::cerr << "streamtrack-web: " << e.what() << "\n";
    return 1;
  }
}
