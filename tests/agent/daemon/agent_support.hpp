#pragma once

// Runs the real streamtrack-agent against real servers, and reads what a subscriber saw.

#include <csignal>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include "common/wire/codec.hpp"
#include "common/wire/frame.hpp"
#include "tests/support/harness.hpp"

namespace streamtrack::testing {

struct AgentSetup {
  std::string id = "rig";
  std::string url;
  std::string mqtt_extra;     // more [mqtt] lines
  std::string buffer_extra;   // [buffer] lines
  std::string agent_extra;    // more [agent] lines
  std::string http_listen;    // [http] listen ("" = off)
  std::string extra_sources;  // more [[source]] tables, verbatim
  std::vector<std::string> source_urls;
  std::string interval = "100ms";
};

inline std::string agent_toml(const AgentSetup& s, const std::filesystem::path& state_dir) {
  std::string t = "[agent]\nid = \"" + s.id + "\"\nstate_dir = \"" + state_dir.string() +
                  "\"\nlog_level = \"info\"\n" + s.agent_extra + "\n[mqtt]\nurl = \"" + s.url +
                  "\"\nreconnect_min = \"50ms\"\nreconnect_max = \"500ms\"\nconnect_timeout = "
                  "\"5s\"\n" +
                  s.mqtt_extra + "\n[buffer]\n" + s.buffer_extra + "\n[http]\nlisten = \"" +
                  s.http_listen + "\"\n\n";
  for (std::size_t i = 0; i < s.source_urls.size(); ++i) {
    t += "[[source]]\ntype = \"http_json\"\nname = \"s" + std::to_string(i) + "\"\nurl = \"" +
         s.source_urls[i] + "\"\ninterval = \"" + s.interval +
         "\"\ntimeout = \"5s\"\n[source.fields]\nlive = \"/online\"\nviewers = \"/viewers\"\n\n";
  }
  return t + s.extra_sources;
}

// One agent's config and state directory; start() runs the binary (one Process per run).
class AgentRun {
 public:
  explicit AgentRun(AgentSetup setup) : m_setup(std::move(setup)) { rewrite(); }
  void rewrite() { write_file(config(), agent_toml(m_setup, m_dir / "state")); }
  AgentSetup& setup() { return m_setup; }
  std::filesystem::path config() const { return m_dir / "agent.toml"; }
  std::filesystem::path state() const { return m_dir / "state"; }

  Process& start() {
    Process::Options o;
    o.argv = {(bin_dir() / "streamtrack-agent").string(), "--config", config().string()};
    o.log_file = m_dir / ("agent-" + std::to_string(m_runs.size()) + ".log");
    m_runs.push_back(std::make_unique<Process>(o));
    return *m_runs.back();
  }
  Process& current() { return *m_runs.back(); }
  std::string all_output() const {
    std::string out;
    for (const auto& p : m_runs) out += p->output();
    return out;
  }

  CommandResult outbox(const std::string& command) const {
    return run_command({(bin_dir() / "streamtrack-agent").string(), "--config", config().string(),
                        "outbox", command});
  }
  // A field of `outbox stats` ("depth", "last_seq", "dropped", ...). Throws (failing the
  // test) when the command fails or does not print the field: never a made-up value.
  std::int64_t stat(const std::string& key) const {
    const auto r = outbox("stats");
    if (r.exit_code != 0) {
      throw std::runtime_error("outbox stats failed (exit " + std::to_string(r.exit_code) +
                               "): " + r.output);
    }
    std::istringstream in(r.output);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind(key + ": ", 0) == 0) return std::stoll(line.substr(key.size() + 2));
    }
    throw std::runtime_error("outbox stats printed no \"" + key + "\":\n" + r.output);
  }

 private:
  TempDir m_dir{"streamtrack-agent-daemon"};
  AgentSetup m_setup;
  std::vector<std::unique_ptr<Process>> m_runs;
};

// What a probe subscribes to for every sample of agent "rig": single samples and the frames
// its backlog goes out in.
inline const std::vector<std::string> k_rig_samples = {"streamtrack/v1/rig/metrics/#",
                                                       "streamtrack/v1/rig/frames"};

// Samples a subscriber received, in arrival order (a frame's in their order in it).
inline std::vector<Sample> received_samples(const MqttProbe& probe) {
  std::vector<Sample> out;
  for (const auto& m : probe.messages()) {
    if (m.topic.ends_with("/frames")) {
      if (auto f = wire::decode_frame(m.payload)) {
        for (auto& e : f->entries) {
          if (e.sample) out.push_back(std::move(e.sample).value());
        }
      }
      continue;
    }
    if (m.topic.find("/metrics/") == std::string::npos) continue;
    auto s = wire::decode_sample(m.payload);
    if (s) out.push_back(std::move(s).value());
  }
  return out;
}

inline std::set<std::int64_t> distinct_seqs(const MqttProbe& probe) {
  std::set<std::int64_t> out;
  for (const auto& s : received_samples(probe)) out.insert(s.seq);
  return out;
}

inline bool has_all(const std::set<std::int64_t>& seqs, std::int64_t n) {
  if (n <= 0) return true;
  return static_cast<std::int64_t>(seqs.size()) >= n && seqs.count(1) && seqs.count(n) &&
         std::distance(seqs.begin(), seqs.upper_bound(n)) == n;
}

inline HttpFixtureServer::Response json(const std::string& body) {
  HttpFixtureServer::Response r;
  r.body = body;
  return r;
}

}  // namespace streamtrack::testing
