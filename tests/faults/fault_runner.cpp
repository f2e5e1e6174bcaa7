// Standalone fault runner: one scenario (or all) with more load than the CI suite, e.g.
//   build/tests/fault_runner --scenario broker_kill --agents 6 --channels 50 --hold 10s
// Prints one audit line per agent; exits 1 on any difference, 2 on a usage error.
#include <iostream>
#include <stdexcept>
#include <string>

#include "common/util/duration.hpp"
#include "tests/faults/cluster.hpp"

namespace {

int usage(const std::string& problem) {
  std::cerr << "fault_runner: " << problem << "\n"
            << "usage: fault_runner [--scenario NAME|all] [--repeat N] [--agents N]\n"
               "                    [--broker-agents N] [--collectors 1|2] [--channels K]\n"
               "                    [--interval 100ms] [--hold 1500ms] [--flow-rows N]\n"
               "scenarios:";
  for (const auto& n : streamtrack::faults::scenario_names()) std::cerr << " " << n;
  std::cerr << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace streamtrack;
  faults::Load load;
  std::string scenario = "all";
  int repeat = 1;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string flag = argv[i];
      if (i + 1 >= argc) return usage("missing value for " + flag);
      const std::string value = argv[++i];
      if (flag == "--scenario") {
        scenario = value;
      } else if (flag == "--repeat") {
        repeat = std::stoi(value);
      } else if (flag == "--agents") {
        load.committed_agents = std::stoi(value);
      } else if (flag == "--broker-agents") {
        load.broker_agents = std::stoi(value);
      } else if (flag == "--collectors") {
        load.collectors = std::stoi(value);
      } else if (flag == "--channels") {
        load.channels = std::stoi(value);
      } else if (flag == "--interval") {
        load.interval = value;
      } else if (flag == "--hold") {
        const auto d = parse_duration(value);
        if (!d) return usage("--hold: expected a duration like \"10s\", got \"" + value + "\"");
        load.hold = *d;
      } else if (flag == "--flow-rows") {
        load.flow_rows = std::stoll(value);
      } else {
        return usage("unknown option " + flag);
      }
    }
  } catch (const std::exception&) {
    return usage("expected a number");
  }
  if (load.collectors < 1 || load.collectors > 2 || load.committed_agents < 1 || repeat < 1) {
    return usage("need 1..2 collectors, at least 1 committed agent and 1 repeat");
  }
  std::vector<std::string> names =
      scenario == "all" ? faults::scenario_names() : std::vector<std::string>{scenario};
  bool ok = true;
  for (int r = 0; r < repeat; ++r) {
    for (const auto& name : names) {
      try {
        for (const auto& line : faults::run_scenario(name, load)) ok = ok && line.ok();
      } catch (const std::invalid_argument& e) {
        return usage(e.what());
      } catch (const std::exception& e) {
        std::cout << "faults: scenario=" << name << " result=FAIL error=" << e.what() << std::endl;
        ok = false;
      }
    }
  }
  return ok ? 0 : 1;
}
