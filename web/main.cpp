// streamtrack-web: flags, config, dispatch. Everything else lives in web_core.
#include <CLI/CLI.hpp>
#include <iostream>

#include "common/config/cli.hpp"
#include "common/util/guarded_main.hpp"
#include "common/version.hpp"
#include "web/app.hpp"

namespace {

int run_main(int argc, char** argv) {
  using namespace streamtrack;
  CLI::App cli{"streamtrack-web: the StreamTrack dashboard, JSON API and live updates"};
  config::ConfigFlags config_flags;
  bool version = false;
  config::add_config_flags(cli, config_flags, "/etc/streamtrack/web.toml");
  cli.add_flag("--version", version, "Print the version and exit");
  CLI11_PARSE(cli, argc, argv);

  if (version) {
    std::cout << "streamtrack-web " << k_version << "\n";
    return 0;
  }
  auto resolved = config::resolve_config<web::WebConfig>(
      config_flags, web::web_config_example, web::load_web_config,
      [](const web::WebConfig&) { return std::string(); });
  if (const auto* exit_code = std::get_if<int>(&resolved)) return *exit_code;
  auto& config = std::get<web::WebConfig>(resolved);
  return web::run_daemon(config);
}

}  // namespace

int main(int argc, char** argv) {
  return streamtrack::guarded_main("streamtrack-web", [&] { return run_main(argc, argv); });
}
