// streamtrack-agent: flags, config, dispatch. Everything else lives in agent_core.
#include <CLI/CLI.hpp>
#include <iostream>

#include "agent/app.hpp"
#include "common/config/cli.hpp"
#include "common/util/guarded_main.hpp"
#include "common/version.hpp"

namespace {

int run_main(int argc, char** argv) {
  using namespace streamtrack;
  CLI::App cli{
      "streamtrack-agent: polls stream platforms and servers, buffers every sample "
      "and publishes it over MQTT"};
  config::ConfigFlags config_flags;
  bool once = false;
  bool version = false;
  config::add_config_flags(cli, config_flags, "/etc/streamtrack/agent.toml");
  cli.add_flag("--once", once, "Poll every source once, print samples as JSON lines, exit");
  cli.add_flag("--version", version, "Print the version and exit");
  auto* outbox = cli.add_subcommand("outbox", "Inspect the local outbox");
  outbox->require_subcommand(1);
  outbox->add_subcommand("stats", "Depth, oldest unsent age and drop counts");
  outbox->add_subcommand("export", "Unsent samples as JSON lines");
  CLI11_PARSE(cli, argc, argv);

  if (version) {
    std::cout << "streamtrack-agent " << k_version << "\n";
    return 0;
  }
  auto resolved = config::resolve_config<agent::AgentConfig>(
      config_flags, agent::agent_config_example, agent::load_agent_config,
      [](const agent::AgentConfig& c) {
        return " (" + std::to_string(c.sources.size()) + " sources)";
      });
  if (const auto* exit_code = std::get_if<int>(&resolved)) return *exit_code;
  auto& config = std::get<agent::AgentConfig>(resolved);
  if (once) return agent::run_once(config);
  if (outbox->parsed())
    return agent::run_outbox_command(config, outbox->get_subcommands()[0]->get_name());
  return agent::run_daemon(std::move(config));
}

}  // namespace

int main(int argc, char** argv) {
  return streamtrack::guarded_main("streamtrack-agent", [&] { return run_main(argc, argv); });
}
