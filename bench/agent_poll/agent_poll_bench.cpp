// Cost of one poll (parse + samples) per source type, against the bare parse of the same body
// (nlohmann::json::parse or pugixml) measured in the same run. Prints "ratio" lines.

#include <benchmark/benchmark.h>

#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <pugixml.hpp>
#include <sstream>

#include "agent/sources/http_json/http_json.hpp"
#include "agent/sources/icecast/icecast.hpp"
#include "agent/sources/mediamtx/mediamtx.hpp"
#include "agent/sources/nginx_rtmp/nginx_rtmp.hpp"
#include "agent/sources/owncast/owncast.hpp"
#include "agent/sources/srs/srs.hpp"
#include "common/util/guarded_main.hpp"

namespace {

using namespace streamtrack;
namespace src = streamtrack::agent::sources;

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(STREAMTRACK_FIXTURES_DIR) + "/" + name, std::ios::binary);
  if (!in) throw std::runtime_error("missing fixture " + name);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

const TimePoint k_now{std::chrono::milliseconds{1'767'225'600'000}};

template <typename Parse>
void run_parse(benchmark::State& state, const std::string& body, Parse parse) {
  for (auto _ : state) {
    auto r = parse(body);
    if (!r) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(body.size()));
}

void json_baseline(benchmark::State& state, const std::string& body) {
  for (auto _ : state) benchmark::DoNotOptimize(nlohmann::json::parse(body));
}

void xml_baseline(benchmark::State& state, const std::string& body) {
  for (auto _ : state) {
    pugi::xml_document doc;
    benchmark::DoNotOptimize(doc.load_buffer(body.data(), body.size()));
  }
}

void register_all() {
  static const std::string rtmp = fixture("nginx_rtmp/several_streams.xml");
  static const std::string owncast = fixture("owncast/live.json");
  static const std::string mediamtx = fixture("mediamtx/live.json");
  static const std::string srs = fixture("srs/live.json");
  static const std::string icecast = fixture("icecast/two_mounts.json");
  static const std::string json = fixture("http_json/status.json");
  static const src::http_json::Mapping mapping = [] {
    src::http_json::Mapping m;
    m.channel = "main";
    m.live = nlohmann::json::json_pointer("/online");
    m.viewers = nlohmann::json::json_pointer("/stats/viewers");
    m.title = nlohmann::json::json_pointer("/show/title");
    return m;
  }();

  benchmark::RegisterBenchmark("poll/nginx_rtmp", [](benchmark::State& s) {
    run_parse(s, rtmp, [](const std::string& b) { return src::nginx_rtmp::parse(b, k_now); });
  });
  benchmark::RegisterBenchmark("baseline/nginx_rtmp",
                               [](benchmark::State& s) { xml_baseline(s, rtmp); });
  benchmark::RegisterBenchmark("poll/owncast", [](benchmark::State& s) {
    run_parse(s, owncast, [](const std::string& b) { return src::owncast::parse(b, "oc"); });
  });
  benchmark::RegisterBenchmark("baseline/owncast",
                               [](benchmark::State& s) { json_baseline(s, owncast); });
  benchmark::RegisterBenchmark("poll/mediamtx", [](benchmark::State& s) {
    run_parse(s, mediamtx, [](const std::string& b) { return src::mediamtx::parse(b); });
  });
  benchmark::RegisterBenchmark("baseline/mediamtx",
                               [](benchmark::State& s) { json_baseline(s, mediamtx); });
  benchmark::RegisterBenchmark("poll/srs", [](benchmark::State& s) {
    run_parse(s, srs, [](const std::string& b) { return src::srs::parse(b); });
  });
  benchmark::RegisterBenchmark("baseline/srs", [](benchmark::State& s) { json_baseline(s, srs); });
  benchmark::RegisterBenchmark("poll/icecast", [](benchmark::State& s) {
    run_parse(s, icecast, [](const std::string& b) { return src::icecast::parse(b); });
  });
  benchmark::RegisterBenchmark("baseline/icecast",
                               [](benchmark::State& s) { json_baseline(s, icecast); });
  benchmark::RegisterBenchmark("poll/http_json", [](benchmark::State& s) {
    run_parse(s, json, [](const std::string& b) { return src::http_json::parse(b, mapping); });
  });
  benchmark::RegisterBenchmark("baseline/http_json",
                               [](benchmark::State& s) { json_baseline(s, json); });
}

// Remembers each benchmark's time per iteration to print the ratios at the end.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& run : runs) {
      if (run.run_type == Run::RT_Iteration && !run.error_occurred) {
        m_times[run.benchmark_name()] = run.GetAdjustedCPUTime();
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  void print_ratios() const {
    std::cout << "\nCost of one poll relative to parsing the same body alone:\n";
    for (const auto& [name, time] : m_times) {
      if (name.rfind("poll/", 0) != 0) continue;
      const std::string type = name.substr(5);
      const auto base = m_times.find("baseline/" + type);
      if (base == m_times.end() || base->second <= 0) continue;
      std::cout << "ratio " << type << " poll/baseline = " << time / base->second << "\n";
    }
  }

 private:
  std::map<std::string, double> m_times;
};

int run_bench(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  register_all();
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print_ratios();
  benchmark::Shutdown();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return streamtrack::guarded_main("agent_poll", [&] { return run_bench(argc, argv); });
}
