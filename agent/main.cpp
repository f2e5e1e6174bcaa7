// streamtrack-agent: flags, config, dispatch. Everything else lives in agent_core.
#include <CLI/CLI.hpp>
#include <iostream>

#include "agent/app.hpp"
#include "common/version.hpp"

int main(int argc, char** argv) {
  using namespace streamtrack;
  CLI::App cli{"streamtrack-agent: polls stream platforms and servers, buffers every sample "
               "and publishes it over MQTT"};
  std::string config_path = "/etc/streamtrack/agent.toml";
  bool check_config = false;
  bool once = false;
  bool version = false;
  cli.add_option("-c,--config", config_path, "Configuration file")->capture_default_str();
  cli.add_flag("--check-config", check_config, "Validate the configuration, print errors, exit");
  cli.add_flag("--once", once, "Poll every source once, print samples as JSON lines, exit");
  cli.add_flag("--version", version, "Print the version and exit");
  auto* outbox = cli.add_subcommand("outbox", "Inspect the local outbox");
  outbox->require_subcommand(1);
  outbox->add_subcommand("stats", "Depth, oldest unsent age and drop counts");
  outbox->add_subcommand("export", "Unsent samples as JSON lines");
  auto* config_command = cli.add_subcommand("config", "Configuration tools");
  config_command->require_subcommand(1);
  config_command->add_subcommand(
      "example",
      "Print the full commented configuration (every key, its default, constraints and "
      "whether SIGHUP applies it), generated from the key declarations");
  CLI11_PARSE(cli, argc, argv);

  if (version) {
    std::cout << "streamtrack-agent " << k_version << "\n";
    return 0;
  }
  if (config_command->parsed()) {
    std::cout << agent::agent_config_example();
    return 0;
  }
  agent::AgentConfig config;
  try {
    config = agent::load_agent_config(config_path);
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
    std::cout << config_path << ": OK (" << config.sources.size() << " sources)\n";
    return 0;
  }
  try {
    if (once) return agent::run_once(config);
    if (outbox->parsed()) return agent::run_outbox_command(config, outbox->get_subcommands()[0]->get_name());
    return agent::run_daemon(std::move(config));
  } catch (const std::exception& e) {
    std::cerr << "streamtrack-agent: " << e.what() << "\n";
    return 1;
  }
}
