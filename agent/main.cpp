// streamtrack-agent: flags, config, dispatch. Everything else lives in agent_core.
#include <CLI/CLI.hpp>
#include <iostream>

#include "agent/app.hpp"
#include "common/config/cli.hpp"
#include "common/util/guarded_main.hpp"
#include "common/version.hpp"

// GnuTLS's documented opt-out of its implicit initialisation (GNUTLS_SKIP_GLOBAL_INIT in
// <gnutls/gnutls.h>, spelled out here so the build needs no GnuTLS headers). The agent never uses
// GnuTLS: Debian's libcurl does TLS with OpenSSL and maps GnuTLS only because it links librtmp
// and libldap (each calls gnutls_global_init itself when it needs GnuTLS), and the agent allows
// http and https alone. Without this, GnuTLS's library constructor loads its system
// configuration and cipher tables at start-up (about 0.75 MiB resident for the daemon's life). The
// executable exports the symbol (GNU ld does so for any symbol a linked library refers to;
// agent/CMakeLists.txt asks for it explicitly), so it overrides GnuTLS's weak default
// (AgentBinary.GnuTlsConstructorCallsTheAgentsInitialisationOptOut).
// NOLINTBEGIN(bugprone-reserved-identifier): GnuTLS's name.
extern "C" int _gnutls_global_init_skip();
extern "C" int _gnutls_global_init_skip() {
  return 1;
}
// NOLINTEND(bugprone-reserved-identifier)

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
