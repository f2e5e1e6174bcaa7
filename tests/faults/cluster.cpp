#include "tests/faults/cluster.hpp"

#include <signal.h>

#include <cstdlib>
#include <exception>
#include <functional>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "common/wire/codec.hpp"

namespace streamtrack::faults {

namespace fs = std::filesystem;
using testing::bin_dir;
using testing::k_event_timeout;
using testing::wait_until;

namespace {

// Deadline for the audit's convergence (the drain run delivering a backlog).
constexpr std::chrono::milliseconds k_drain_timeout = 120s;

void require(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error("faults: timed out waiting for " + what);
}

std::int64_t seed_of(const std::string& id) {
  return static_cast<std::int64_t>(std::hash<std::string>{}(id) % 1'000'000);
}

}  // namespace

// ---- agents ----

FaultAgent::FaultAgent(std::string id, std::string delivery, std::string url, const Load& load,
                       const testing::NetNamespace* netns, const fs::path& state_dir,
                       std::int64_t max_rows, std::string policy)
    : m_state(state_dir.empty() ? m_dir / "state" : state_dir),
      m_url(std::move(url)),
      m_load(load),
      m_netns(netns),
      m_max_rows(max_rows),
      m_policy(std::move(policy)) {
  m_record.agent = std::move(id);
  m_record.delivery = std::move(delivery);
}

void FaultAgent::write_config(bool drain) {
  std::string t = "[agent]\nid = \"" + id() + "\"\nstate_dir = \"" + m_state.string() +
                  "\"\nlog_level = \"info\"\nshutdown_timeout = \"2s\"\n\n"
                  "[mqtt]\nurl = \"" +
                  m_url +
                  "\"\ntopic_prefix = \"st/v1\"\n"
                  "keepalive = \"2s\"\nconnect_timeout = \"2s\"\n"
                  "reconnect_min = \"50ms\"\nreconnect_max = \"1s\"\n"
                  "delivery = \"" +
                  delivery() +
                  "\"\nack_timeout = \"3s\"\n"
                  "health_interval = \"5s\"\n\n"
                  "[buffer]\nmax_rows = " +
                  std::to_string(m_max_rows) + "\npolicy = \"" + m_policy +
                  "\"\n\n"
                  "[http]\nlisten = \"\"\n\n"
                  "[[source]]\ntype = \"synthetic\"\nname = \"load\"\ninterval = \"" +
                  m_load.interval + "\"\nchannels = " + std::to_string(m_load.channels) +
                  "\nchannel_prefix = \"" + id() +
                  "-ch\"\nseed = " + std::to_string(seed_of(id())) + "\n";
  if (drain) t += "rounds = 1\n";
  testing::write_file(m_dir / "agent.toml", t);
}

void FaultAgent::start(bool drain) {
  write_config(drain);
  Process::Options o;
  if (m_netns) o.argv = m_netns->command_prefix();
  o.argv.push_back((bin_dir() / "streamtrack-agent").string());
  o.argv.insert(o.argv.end(), {"--config", (m_dir / "agent.toml").string()});
  o.log_file = m_dir / ("agent-" + std::to_string(m_runs.size()) + ".log");
  m_runs.push_back(std::make_unique<Process>(o));
}

bool FaultAgent::running() {
  return !m_runs.empty() && m_runs.back()->running();
}

void FaultAgent::kill() {
  process().signal(SIGKILL);
  require(process().wait(k_event_timeout).has_value(), "agent " + id() + " to die");
  const auto s = stats();
  if (s.at("seq_reserved") > s.at("last_seq")) {
    m_record.crash_gaps.emplace_back(s.at("last_seq"), s.at("seq_reserved"));
  }
}

void FaultAgent::terminate() {
  process().signal(SIGTERM);
  const auto code = process().wait(k_event_timeout);
  require(code.has_value(), "agent " + id() + " to stop after SIGTERM");
  if (*code != 0) {
    throw std::runtime_error("faults: agent " + id() + " exited with " + std::to_string(*code) +
                             " on SIGTERM:\n" + process().output());
  }
}

std::map<std::string, std::int64_t> FaultAgent::stats() const {
  const auto r = testing::run_command({(bin_dir() / "streamtrack-agent").string(), "--config",
                                       (m_dir / "agent.toml").string(), "outbox", "stats"});
  if (r.exit_code != 0) {
    throw std::runtime_error("faults: outbox stats of " + id() + " failed: " + r.output);
  }
  std::map<std::string, std::int64_t> out;
  std::istringstream in(r.output);
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(": ");
    if (colon == std::string::npos) continue;
    try {
      std::size_t used = 0;
      const auto value = std::stoll(line.substr(colon + 2), &used);
      if (colon + 2 + used == line.size()) out[line.substr(0, colon)] = value;
    } catch (const std::exception&) {
    }
  }
  for (const char* key : {"depth", "last_seq", "seq_reserved", "dropped", "quarantined"}) {
    if (!out.count(key)) {
      throw std::runtime_error(std::string("faults: outbox stats printed no ") + key + ":\n" +
                               r.output);
    }
  }
  return out;
}

std::vector<std::int64_t> FaultAgent::exported_seqs() const {
  const auto r = testing::run_command({(bin_dir() / "streamtrack-agent").string(), "--config",
                                       (m_dir / "agent.toml").string(), "outbox", "export"});
  if (r.exit_code != 0) {
    throw std::runtime_error("faults: outbox export of " + id() + " failed: " + r.output);
  }
  std::vector<std::int64_t> seqs;
  std::istringstream in(r.output);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto sample = wire::decode_sample(line);
    if (!sample) {
      throw std::runtime_error("faults: outbox export of " + id() +
                               " printed an undecodable line: " + sample.error());
    }
    seqs.push_back(sample->seq);
  }
  return seqs;
}

AgentRecord FaultAgent::record() const {
  AgentRecord r = m_record;
  const auto s = stats();
  r.last_seq = s.at("last_seq");
  r.dropped = s.at("dropped");
  r.quarantined = s.at("quarantined");
  r.pending = exported_seqs();
  return r;
}

std::string FaultAgent::all_output() const {
  std::string out;
  for (const auto& p : m_runs) out += p->output();
  return out;
}

std::size_t FaultAgent::output_size() const {
  return m_runs.empty() ? 0 : m_runs.back()->output().size();
}

// ---- the cluster ----

FaultCluster::FaultCluster(ClusterOptions options) : m_options(std::move(options)) {
  if (m_options.netns_agent) m_netns = std::make_unique<testing::NetNamespace>();
  if (m_options.tmpfs_agent) m_tmpfs = std::make_unique<testing::TmpfsMount>(16u << 20);
  testing::MosquittoServer::Options bo;
  bo.persistence = true;
  if (m_netns) bo.extra_addresses.push_back(m_netns->host_address());
  m_broker = std::make_unique<testing::MosquittoServer>(bo);
  m_dsn = m_pg.create_database("streamtrack");

  const auto& load = m_options.load;
  for (int i = 0; i < load.collectors; ++i) {
    m_collectors.push_back(nullptr);
    start_collector(static_cast<std::size_t>(i));
  }
  require(wait_until([&] {
            try {
              return testing::pg_scalar(m_dsn,
                                        "SELECT to_regclass('livestream_metrics') IS NOT "
                                        "NULL") == "t";
            } catch (const std::exception&) {
              return false;
            }
          }),
          "the collectors' schema");

  const auto url = m_broker->url();
  for (int i = 0; i < load.committed_agents; ++i) {
    m_agents.push_back(std::make_unique<FaultAgent>("c" + std::to_string(i), "committed", url, load,
                                                    nullptr, fs::path{}, 1'000'000));
  }
  for (int i = 0; i < load.broker_agents; ++i) {
    m_agents.push_back(std::make_unique<FaultAgent>("b" + std::to_string(i), "broker", url, load,
                                                    nullptr, fs::path{}, 1'000'000));
  }
  if (m_netns) {
    const auto inner_url =
        "mqtt://" + m_netns->host_address() + ":" + std::to_string(m_broker->port());
    m_agents.push_back(std::make_unique<FaultAgent>("net", "committed", inner_url, load,
                                                    m_netns.get(), fs::path{}, 1'000'000));
  }
  if (m_tmpfs) {
    // A small max_rows: while the disk is full the in-memory fallback overflows and drops by
    // policy, which the audit must find counted. drop_newest, so that every counted drop is a
    // sample that was never published: drop_oldest may also give up rows already published
    // and awaiting their ack, which can still arrive (counted, yet stored).
    m_agents.push_back(std::make_unique<FaultAgent>("disk", "committed", url, load, nullptr,
                                                    m_tmpfs->path() / "state", load.channels * 20,
                                                    "drop_newest"));
  }
  for (auto& a : m_agents) a->start();
  wait_flowing(m_options.load.flow_rows);
}

FaultCluster::~FaultCluster() {
  // A scenario that threw (an awaited event never came) leaves its logs for a person.
  if (std::uncaught_exceptions() > 0) keep_logs(m_options.scenario + "-error");
  // Agents first (they would reconnect), then collectors; servers go with their members.
  m_agents.clear();
  m_collectors.clear();
  m_old_collectors.clear();
}

FaultAgent& FaultCluster::agent(const std::string& id) {
  for (auto& a : m_agents) {
    if (a->id() == id) return *a;
  }
  throw std::logic_error("faults: no agent " + id);
}

fs::path FaultCluster::collector_config(std::size_t index) const {
  const auto id = "k" + std::to_string(index);
  std::string t = "[collector]\nid = \"" + id +
                  "\"\nlog_level = \"info\"\nshutdown_timeout = \"3s\"\n"
                  "[mqtt]\nurl = \"" +
                  m_broker->url() +
                  "\"\ntopic_prefix = \"st/v1\"\n"
                  "shared_group = \"faults\"\nkeepalive = \"2s\"\n"
                  "reconnect_min = \"50ms\"\nreconnect_max = \"1s\"\n"
                  "[postgres]\ndsn = \"" +
                  m_dsn +
                  "\"\npool_size = 2\n"
                  "connect_timeout = \"1s\"\nstatement_timeout = \"5s\"\n"
                  "tcp_user_timeout = \"5s\"\n"
                  "[batch]\nmax_rows = 200\nmax_delay = \"50ms\"\nmax_pending_rows = " +
                  std::to_string(m_options.collector_max_pending_rows) +
                  "\n[http]\nlisten = \"\"\n";
  const auto path = m_dir / ("collector-" + id + ".toml");
  testing::write_file(path, t);
  return path;
}

void FaultCluster::start_collector(std::size_t index) {
  if (m_collectors.at(index)) m_old_collectors.push_back(std::move(m_collectors[index]));
  Process::Options p;
  p.argv = {(bin_dir() / "streamtrack-collector").string(), "-c", collector_config(index).string()};
  p.log_file = m_dir / ("collector-k" + std::to_string(index) + "-" +
                        std::to_string(m_old_collectors.size()) + ".log");
  m_collectors[index] = std::make_unique<Process>(p);
  // Subscribed, not only connected: a broker-mode sample published before any collector
  // subscribed would reach no one.
  const auto log_offset = m_broker->log().size();
  const auto client = "streamtrack-collector-k" + std::to_string(index);
  require(wait_until([&] {
            const auto log = m_broker->log();
            const auto at = log.find(client + " 1 $share/faults/", log_offset);
            return at != std::string::npos || !m_collectors[index]->running();
          }),
          "collector k" + std::to_string(index) + " to subscribe");
  if (!m_collectors[index]->running()) {
    throw std::runtime_error("faults: collector exited at start:\n" +
                             m_collectors[index]->output());
  }
}

void FaultCluster::kill_collector(std::size_t index) {
  m_collectors.at(index)->signal(SIGKILL);
  require(m_collectors[index]->wait(k_event_timeout).has_value(), "the collector to die");
}

int FaultCluster::terminate_collector(std::size_t index) {
  m_collectors.at(index)->signal(SIGTERM);
  const auto code = m_collectors[index]->wait(k_event_timeout);
  require(code.has_value(), "the collector to stop after SIGTERM");
  return *code;
}

std::optional<std::int64_t> FaultCluster::rows(const std::string& agent) const {
  try {
    return std::stoll(testing::pg_scalar(
        m_dsn + " connect_timeout=2",
        "SELECT count(*) FROM livestream_metrics WHERE agent_id = '" + agent + "'"));
  } catch (const std::exception& e) {
    m_last_pg_error = e.what();
    return std::nullopt;
  }
}

void FaultCluster::wait_flowing(std::int64_t more) {
  std::map<std::string, std::int64_t> base;
  require(wait_until([&] {
            for (auto& a : m_agents) {
              if (!base.count(a->id())) {
                const auto n = rows(a->id());
                if (!n) return false;
                base[a->id()] = *n;
              }
            }
            return true;
          }),
          "PostgreSQL to answer");
  for (auto& a : m_agents) {
    if (!a->running()) continue;
    std::optional<std::int64_t> n;
    const bool flowed = wait_until([&] {
      n = rows(a->id());
      return n && *n >= base[a->id()] + more;
    });
    require(flowed, "rows of agent " + a->id() + " to flow (wanted " +
                        std::to_string(base[a->id()] + more) + ", last saw " +
                        (n ? std::to_string(*n) : "no answer: " + m_last_pg_error) + ")");
  }
}

void FaultCluster::wait_output(const Process& process, const std::string& needle,
                               std::size_t offset) {
  require(wait_until([&] { return process.output().find(needle, offset) != std::string::npos; }),
          "\"" + needle + "\" in " + process.log_file().string());
}

std::map<std::int64_t, std::int64_t> FaultCluster::seq_rows(const std::string& agent) const {
  std::map<std::int64_t, std::int64_t> out;
  for (const auto& row :
       testing::pg_query(m_dsn, "SELECT seq, count(*) FROM livestream_metrics WHERE agent_id = '" +
                                    agent + "' GROUP BY seq")) {
    out[std::stoll(row.at(0))] = std::stoll(row.at(1));
  }
  return out;
}

std::vector<AuditLine> FaultCluster::finish_and_audit(const std::string& scenario,
                                                      const std::string& broker_loss) {
  if (m_netns) m_netns->link_up();
  if (m_tmpfs) m_tmpfs->release();
  if (!m_pg.running()) m_pg.start();
  if (!m_broker->running()) m_broker->start();
  for (std::size_t i = 0; i < m_collectors.size(); ++i) {
    if (!m_collectors[i]->running()) start_collector(i);
  }
  // Every agent stops cleanly with whatever it still holds, then a drain run (one more round)
  // delivers its outbox: the audit sees each seq the agent ever gave out.
  for (auto& a : m_agents) {
    if (a->running()) a->terminate();
  }
  for (auto& a : m_agents) a->start(true);
  for (auto& a : m_agents) {
    require(wait_until([&] { return a->stats().at("depth") == 0 && a->stats().at("last_seq") > 0; },
                       k_drain_timeout),
            "agent " + a->id() + " to drain its outbox");
  }
  for (auto& a : m_agents) a->terminate();
  std::vector<AuditLine> lines;
  for (auto& a : m_agents) {
    const auto record = a->record();
    const auto allowed = a->delivery() == "broker" ? broker_loss : std::string();
    // Broker-mode samples may still be on their way through the broker and a collector: wait
    // until nothing is missing or, where a loss is allowed, until no row came for 2 s.
    AuditLine line;
    auto last_change = std::chrono::steady_clock::now();
    std::int64_t last_stored = -1;
    wait_until(
        [&] {
          line = audit(scenario, record, seq_rows(a->id()), allowed);
          const auto now = std::chrono::steady_clock::now();
          if (line.stored != last_stored) {
            last_stored = line.stored;
            last_change = now;
          }
          return line.missing <= 0 || (!allowed.empty() && now - last_change >= 2s);
        },
        60s);
    std::cout << line.text() << std::endl;
    lines.push_back(line);
  }
  bool failed = false;
  std::int64_t assigned = 0, stored = 0, missing = 0, allowed = 0, duplicated = 0, dropped = 0;
  for (const auto& l : lines) {
    failed = failed || !l.ok();
    assigned += l.assigned;
    stored += l.stored;
    duplicated += l.duplicated;
    dropped += l.dropped;
    (l.loss_allowed.empty() ? missing : allowed) += l.missing;
  }
  // The scenario's line: the sums of its agents' lines.
  std::cout << "faults: scenario=" << scenario << " agents=" << lines.size()
            << " assigned=" << assigned << " stored=" << stored << " missing=" << missing
            << " duplicated=" << duplicated << " dropped=" << dropped
            << " broker_mode_allowed_loss=" << allowed << " result=" << (failed ? "FAIL" : "ok")
            << std::endl;
  if (failed) keep_logs(scenario);
  return lines;
}

void FaultCluster::keep_logs(const std::string& scenario) const {
  const char* dir = std::getenv("STREAMTRACK_FAULTS_LOG_DIR");
  if (dir == nullptr || *dir == '\0') {
    std::cerr << "faults: " << scenario
              << ": set STREAMTRACK_FAULTS_LOG_DIR to keep every log of a failed scenario\n";
    return;
  }
  const auto target = fs::path(dir) / scenario;
  fs::create_directories(target);
  for (const auto& a : m_agents)
    testing::write_file(target / ("agent-" + a->id() + ".log"), a->all_output());
  std::string collectors;
  for (const auto& p : m_old_collectors) collectors += p->output();
  for (const auto& p : m_collectors) collectors += p->output();
  testing::write_file(target / "collectors.log", collectors);
  testing::write_file(target / "mosquitto.log", m_broker->log());
  std::cerr << "faults: " << scenario << ": logs kept in " << target.string() << "\n";
}

}  // namespace streamtrack::faults
