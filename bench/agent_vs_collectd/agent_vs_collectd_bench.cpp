// streamtrack-agent against collectd 5.12 (curl_json + mqtt plugins) doing the same job at the
// same time: the same local JSON endpoints (bench/agent_vs_collectd/json_endpoints.hpp), the
// same interval, the same local Mosquitto, QoS 1. The agent keeps every sample in its SQLite
// outbox until the broker's PUBACK (delivery = "broker": no collector runs here), collectd keeps
// nothing. Figures, each against collectd measured in the same run:
//  1. CPU seconds (utime + stime from /proc/<pid>/stat) over the same window, 100 sources at 1 s;
//     PSS (/proc/<pid>/smaps_rollup) at the end of that window;
//  2. private memory (Private_Clean + Private_Dirty) growth per source from 10 to 1,000 sources;
//  3. CPU with 1,000 sources at a 60 s interval over 60 s (idle: no busy wake-ups).
// Usage: agent_vs_collectd_bench [window seconds, default 30] [agent binary, default the
// build's] [first: only figure 1]. Run from a Release build. Needs /usr/sbin/collectd
// (scripts/bootstrap: collectd-core).

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <sstream>

#include "bench/agent_vs_collectd/json_endpoints.hpp"
#include "bench/common/proc_stats.hpp"
#include "common/util/guarded_main.hpp"
#include "tests/support/harness.hpp"

namespace {

using namespace streamtrack;
using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

constexpr const char* k_collectd = "/usr/sbin/collectd";
std::string g_agent_bin;  // argv[2], or build/bin/streamtrack-agent

std::string agent_config(const std::filesystem::path& dir, const std::string& broker,
                         const bench::JsonEndpoints& http, int sources, int interval_s) {
  std::string toml = "[agent]\nid = \"bench\"\nstate_dir = \"" + (dir / "state").string() +
                     "\"\nlog_level = \"warning\"\n[mqtt]\nurl = \"" + broker +
                     "\"\ndelivery = \"broker\"\n[http]\nlisten = \"\"\n";
  for (int i = 0; i < sources; ++i) {
    toml += "[[source]]\ntype = \"http_json\"\nname = \"s" + std::to_string(i) + "\"\nurl = \"" +
            http.url(i) + "\"\ninterval = \"" + std::to_string(interval_s) +
            "s\"\n[source.fields]\nlive = \"/online\"\nviewers = \"/viewers\"\n"
            "title = \"/title\"\nbitrate_kbps = \"/bitrate\"\n";
  }
  return toml;
}

// collectd reads the two numbers of each endpoint (one MQTT message per value).
std::string collectd_config(const std::filesystem::path& dir, std::uint16_t broker_port,
                            const bench::JsonEndpoints& http, int sources, int interval_s) {
  std::string c = "Hostname \"bench\"\nFQDNLookup false\nBaseDir \"" + dir.string() +
                  "\"\nPIDFile \"" + (dir / "collectd.pid").string() +
                  "\"\nPluginDir \"/usr/lib/collectd\"\n"
                  "TypesDB \"/usr/share/collectd/types.db\"\nInterval " +
                  std::to_string(interval_s) +
                  "\nLoadPlugin logfile\n<Plugin logfile>\n  LogLevel warning\n"
                  "  File STDERR\n</Plugin>\nLoadPlugin curl_json\nLoadPlugin mqtt\n"
                  "<Plugin curl_json>\n";
  for (int i = 0; i < sources; ++i) {
    c += "  <URL \"" + http.url(i) + "\">\n    Instance \"s" + std::to_string(i) +
         "\"\n    <Key \"viewers\">\n      Type \"gauge\"\n    </Key>\n"
         "    <Key \"bitrate\">\n      Type \"gauge\"\n    </Key>\n  </URL>\n";
  }
  c += "</Plugin>\n<Plugin mqtt>\n  <Publish \"bench\">\n    Host \"127.0.0.1\"\n    Port " +
       std::to_string(broker_port) +
       "\n    ClientId \"collectd-bench\"\n    QoS 1\n    Prefix \"collectd\"\n"
       "    Retain false\n  </Publish>\n</Plugin>\n";
  return c;
}

// The agent and collectd polling the same endpoints at once.
struct Pair {
  testing::TempDir dir{"agent-vs-collectd"};
  std::unique_ptr<testing::Process> agent;
  std::unique_ptr<testing::Process> collectd;

  Pair(const testing::MosquittoServer& broker, const bench::JsonEndpoints& http, int sources,
       int interval_s) {
    testing::write_file(dir / "agent.toml",
                        agent_config(dir.path(), broker.url(), http, sources, interval_s));
    std::filesystem::create_directories(dir / "collectd");
    testing::write_file(dir / "collectd.conf", collectd_config(dir / "collectd", broker.port(),
                                                               http, sources, interval_s));
    testing::Process::Options a;
    a.argv = {g_agent_bin, "--config", (dir / "agent.toml").string()};
    // For profiles: STREAMTRACK_BENCH_AGENT_WRAPPER="valgrind --tool=callgrind ..." runs the
    // agent under it (the figures then describe the wrapper, not the agent).
    if (const char* wrapper = std::getenv("STREAMTRACK_BENCH_AGENT_WRAPPER")) {
      std::istringstream words(wrapper);
      std::vector<std::string> prefix{std::istream_iterator<std::string>(words), {}};
      a.argv.insert(a.argv.begin(), prefix.begin(), prefix.end());
    }
    agent = std::make_unique<testing::Process>(a);
    testing::Process::Options c;
    c.argv = {k_collectd, "-f", "-C", (dir / "collectd.conf").string()};
    collectd = std::make_unique<testing::Process>(c);
  }
  ~Pair() {
    collectd->stop();
    agent->stop();
  }
};

struct Window {
  double agent_cpu = 0;
  double collectd_cpu = 0;
};

Window measure_cpu(Pair& p, std::chrono::seconds length) {
  const double a0 = bench::cpu_seconds(p.agent->pid());
  const double c0 = bench::cpu_seconds(p.collectd->pid());
  std::this_thread::sleep_for(length);
  const double a1 = bench::cpu_seconds(p.agent->pid());
  const double c1 = bench::cpu_seconds(p.collectd->pid());
  if (a0 < 0 || a1 < 0) throw std::runtime_error("the agent died:\n" + p.agent->output());
  if (c0 < 0 || c1 < 0) throw std::runtime_error("collectd died:\n" + p.collectd->output());
  return {a1 - a0, c1 - c0};
}

// Waits until every source was polled `rounds` times (by both: two clients per source).
void wait_for_polls(const bench::JsonEndpoints& http, std::uint64_t before, int sources, int rounds,
                    std::chrono::seconds timeout) {
  const auto want = before + static_cast<std::uint64_t>(2 * sources * rounds);
  if (!testing::wait_until([&] { return http.requests() >= want; }, timeout)) {
    throw std::runtime_error(
        "the endpoints were not polled in time: " + std::to_string(http.requests() - before) +
        " of " + std::to_string(want - before) + " requests");
  }
}

void print_ratio(const char* what, double agent, double collectd, const char* unit) {
  std::printf("  %-34s agent %10.3f %-4s collectd %10.3f %-4s ratio agent/collectd %.2f\n", what,
              agent, unit, collectd, unit, collectd > 0 ? agent / collectd : 0.0);
}

int run_bench(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const int window_s = argc > 1 ? std::atoi(argv[1]) : 30;
  g_agent_bin = argc > 2 ? argv[2] : (testing::bin_dir() / "streamtrack-agent").string();
  if (::access(k_collectd, X_OK) != 0) {
    std::cerr << "agent_vs_collectd: " << k_collectd << " missing (run scripts/bootstrap)\n";
    return 2;
  }
  testing::MosquittoServer broker;
  bench::JsonEndpoints http;

  // 1. 100 sources at 1 s, both at once.
  double cpu_ratio = 0;
  double pss_ratio = 0;
  double uss_ratio = 0;
  {
    testing::MqttProbe probe(broker.url(), {"streamtrack/v1/bench/metrics/#", "collectd/#"});
    Pair p(broker, http, 100, 1);
    wait_for_polls(http, 0, 100, 3, 60s);
    std::this_thread::sleep_for(2s);
    const auto before = probe.messages();
    const auto requests0 = http.requests();
    const auto connections0 = http.connections();
    const auto w = measure_cpu(p, std::chrono::seconds(window_s));
    const auto after = probe.messages();
    const auto requests = http.requests() - requests0;
    const auto connections = http.connections() - connections0;
    std::size_t agent_msgs = 0;
    std::size_t collectd_msgs = 0;
    for (std::size_t i = before.size(); i < after.size(); ++i) {
      (after[i].topic.rfind("collectd/", 0) == 0 ? collectd_msgs : agent_msgs) += 1;
    }
    const auto am = bench::memory(p.agent->pid());
    const auto cm = bench::memory(p.collectd->pid());
    std::printf(
        "agent_vs_collectd: 100 sources at 1 s, %d s window, local Mosquitto, QoS 1 "
        "(agent: outbox + delete on PUBACK)\n",
        window_s);
    std::printf(
        "  messages in the window: agent %zu (one per sample), collectd %zu (one per "
        "value, 2 per poll)\n",
        agent_msgs, collectd_msgs);
    std::printf("  HTTP in the window (both clients): %llu requests over %llu new connections\n",
                static_cast<unsigned long long>(requests),
                static_cast<unsigned long long>(connections));
    print_ratio("CPU (utime+stime)", w.agent_cpu, w.collectd_cpu, "s");
    print_ratio("PSS", static_cast<double>(am.pss_kib) / 1024,
                static_cast<double>(cm.pss_kib) / 1024, "MiB");
    // What the PSS is made of: anonymous memory (heap, stacks) and mapped files (code).
    print_ratio("  of which anonymous", static_cast<double>(am.pss_anon_kib) / 1024,
                static_cast<double>(cm.pss_anon_kib) / 1024, "MiB");
    print_ratio("  of which files", static_cast<double>(am.pss_file_kib) / 1024,
                static_cast<double>(cm.pss_file_kib) / 1024, "MiB");
    // PSS divides each shared page among the processes mapping it, so it moves when other
    // processes on the machine load the same libraries; private memory does not.
    print_ratio("private (USS)", static_cast<double>(am.private_kib) / 1024,
                static_cast<double>(cm.private_kib) / 1024, "MiB");
    cpu_ratio = w.agent_cpu / w.collectd_cpu;
    uss_ratio = static_cast<double>(am.private_kib) / static_cast<double>(cm.private_kib);
    pss_ratio = static_cast<double>(am.pss_kib) / static_cast<double>(cm.pss_kib);
  }

  if (argc > 3 && std::string(argv[3]) == "first") return 0;

  // 2 and 3. Private memory at 10 and at 1,000 sources (60 s interval), CPU at 1,000 idle.
  bench::Memory agent10;
  bench::Memory collectd10;
  {
    const auto start = http.requests();
    Pair p(broker, http, 10, 60);
    wait_for_polls(http, start, 10, 1, 60s);
    std::this_thread::sleep_for(2s);
    agent10 = bench::memory(p.agent->pid());
    collectd10 = bench::memory(p.collectd->pid());
  }
  {
    const auto start = http.requests();
    Pair p(broker, http, 1000, 60);
    wait_for_polls(http, start, 1000, 1, 120s);
    std::this_thread::sleep_for(2s);
    const auto w = measure_cpu(p, 60s);
    const auto agent1000 = bench::memory(p.agent->pid());
    const auto collectd1000 = bench::memory(p.collectd->pid());
    const auto per_source = [](const bench::Memory& small, const bench::Memory& large) {
      return static_cast<double>(large.private_kib - small.private_kib) / 990.0;
    };
    std::printf(
        "agent_vs_collectd: private memory (Private_Clean + Private_Dirty) growth from 10 "
        "to 1,000 sources at 60 s, after every source was polled\n");
    std::printf("  agent private %ld -> %ld KiB, collectd %ld -> %ld KiB\n", agent10.private_kib,
                agent1000.private_kib, collectd10.private_kib, collectd1000.private_kib);
    print_ratio("growth per source", per_source(agent10, agent1000),
                per_source(collectd10, collectd1000), "KiB");
    std::printf("agent_vs_collectd: 1,000 sources at 60 s, CPU over 60 s\n");
    print_ratio("CPU (utime+stime)", w.agent_cpu, w.collectd_cpu, "s");
    std::printf("  agent CPU share at idle: %.4f%% of one core\n", w.agent_cpu / 60.0 * 100);
    const double growth = per_source(agent10, agent1000);
    std::printf(
        "goal agent_cpu: %s ratio %.2f (agent/collectd CPU, 100 sources at 1 s; goal <= 1)\n",
        cpu_ratio <= 1.0 ? "met" : "NOT met", cpu_ratio);
    std::printf(
        "goal agent_pss: %s ratio %.2f (agent/collectd PSS; goal <= 1; private memory "
        "ratio %.2f)\n",
        pss_ratio <= 1.0 ? "met" : "NOT met", pss_ratio, uss_ratio);
    std::printf(
        "goal agent_memory_per_source: %s %.1f KiB per source (goal <= 19.5 KiB = 20 kB; "
        "collectd %.1f KiB)\n",
        growth <= 19.5 ? "met" : "NOT met", growth, per_source(collectd10, collectd1000));
    std::printf(
        "goal agent_idle_cpu: %s %.3f%% of a core (1,000 sources at 60 s; collectd "
        "%.3f%%; goal <= collectd)\n",
        w.agent_cpu <= w.collectd_cpu ? "met" : "NOT met", w.agent_cpu / 60.0 * 100,
        w.collectd_cpu / 60.0 * 100);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return streamtrack::guarded_main("agent_vs_collectd", [&] { return run_bench(argc, argv); });
}
