#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "agent/app.hpp"
#include "agent/outbox/outbox.hpp"

namespace streamtrack::agent {

int run_outbox_command(const AgentConfig& config, const std::string& command) {
  const auto path = outbox::outbox_path(config);
  if (!std::filesystem::exists(path)) {
    std::cerr << "streamtrack-agent: no outbox at " << path.string() << "\n";
    return 1;
  }
  auto options = outbox::outbox_options(config);
  options.read_only = true;
  outbox::Outbox box(path, options);
  if (command == "export") {
    box.export_json_lines(std::cout);
    std::cout.flush();
    return std::cout ? 0 : 1;
  }
  if (command != "stats") {
    std::cerr << "streamtrack-agent: unknown outbox command \"" << command << "\"\n";
    return 2;
  }
  const auto s = box.stats();
  std::ostringstream age;
  if (s.oldest_ts) {
    age << std::fixed << std::setprecision(1)
        << std::chrono::duration<double>(SystemClock::instance().now() - *s.oldest_ts).count();
  } else {
    age << "-";
  }
  std::cout << "outbox: " << path.string() << "\n"
            << "depth: " << s.depth << "\n"
            << "bytes: " << s.bytes << "\n"
            << "oldest_unsent_age_s: " << age.str() << "\n"
            << "last_seq: " << s.last_seq << "\n"
            << "seq_reserved: " << s.seq_reserved << "\n"
            << "dropped: " << s.dropped() << "\n"
            << "dropped_oldest: " << s.dropped_oldest << "\n"
            << "dropped_newest: " << s.dropped_newest << "\n"
            << "dropped_unsaved: " << s.dropped_unsaved << "\n"
            << "quarantined: " << s.quarantined << "\n";
  return 0;
}

}  // namespace streamtrack::agent
