#pragma once

// The fault suite's world: real PostgreSQL 15, real Mosquitto with persistence, one or two
// collectors in a shared group and several agents (both delivery modes, fed by the synthetic
// source), each a separate process, all cleaned up by the destructor.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/faults/audit.hpp"
#include "tests/support/harness.hpp"

namespace streamtrack::faults {

using namespace std::chrono_literals;
using testing::Process;

// How much load and how long the faults last: the suite's defaults fit CI; the standalone
// runner and bench/soak/ raise them.
struct Load {
  int committed_agents = 2;
  int broker_agents = 1;
  int collectors = 2;
  int channels = 10;                     // per agent, one sample each per interval
  std::string interval = "100ms";        // poll interval of the synthetic source
  std::chrono::milliseconds hold{1500};  // extra time a fault lasts after it took effect
  std::int64_t flow_rows = 50;           // rows per agent that show data flows again
};

struct ClusterOptions {
  std::string scenario;  // names the kept logs (keep_logs)
  Load load;
  bool netns_agent = false;  // one more committed agent in its own network namespace
  bool tmpfs_agent = false;  // one more committed agent whose outbox is on a small tmpfs
  std::int64_t collector_max_pending_rows = 100'000;
  // The server's default synchronous_commit: on (durable), or off as some installations tune
  // it for speed (the collector must make its own commits durable all the same).
  bool durable_pg = true;
};

class FaultAgent {
 public:
  FaultAgent(std::string id, std::string delivery, std::string url, const Load& load,
             const testing::NetNamespace* netns, const std::filesystem::path& state_dir,
             std::int64_t max_rows, std::string policy = "drop_oldest");
  const std::string& id() const { return m_record.agent; }
  const std::string& delivery() const { return m_record.delivery; }
  // Starts a run (the drain run makes one round of samples, then only delivers).
  void start(bool drain = false);
  bool running();
  // SIGKILL, then reads the seqs the killed run reserved but never gave out.
  void kill();
  // SIGTERM and waits for the clean exit (unsent samples stay in the outbox).
  void terminate();
  Process& process() { return *m_runs.back(); }
  // `outbox stats` of the state dir (also next to a running agent); throws on failure.
  std::map<std::string, std::int64_t> stats() const;
  // Seqs in `outbox export`.
  std::vector<std::int64_t> exported_seqs() const;
  // Fills in last_seq, dropped, quarantined and pending from the agent's own records.
  AgentRecord record() const;
  std::string all_output() const;
  std::size_t output_size() const;

 private:
  void write_config(bool drain);
  testing::TempDir m_dir{"streamtrack-faults-agent"};
  std::filesystem::path m_state;
  std::string m_url;
  Load m_load;
  const testing::NetNamespace* m_netns;
  std::int64_t m_max_rows;
  std::string m_policy;
  AgentRecord m_record;
  std::vector<std::unique_ptr<Process>> m_runs;
};

class FaultCluster {
 public:
  explicit FaultCluster(ClusterOptions options);
  ~FaultCluster();

  testing::PostgresServer& pg() { return m_pg; }
  testing::MosquittoServer& broker() { return *m_broker; }
  std::vector<std::unique_ptr<FaultAgent>>& agents() { return m_agents; }
  FaultAgent& agent(const std::string& id);
  testing::NetNamespace* netns() { return m_netns.get(); }
  testing::TmpfsMount* tmpfs() { return m_tmpfs.get(); }

  void start_collector(std::size_t index);
  void kill_collector(std::size_t index);
  // SIGTERM; waits for the exit and returns its code.
  int terminate_collector(std::size_t index);
  Process& collector(std::size_t index) { return *m_collectors.at(index); }
  std::size_t collector_count() const { return m_collectors.size(); }

  // Rows in livestream_metrics for `agent`; nullopt while PostgreSQL cannot answer.
  std::optional<std::int64_t> rows(const std::string& agent) const;
  // Waits until every running agent has `more` rows beyond what it had when called.
  void wait_flowing(std::int64_t more);
  // Waits until `needle` appears in `process`'s output beyond `offset` bytes.
  static void wait_output(const Process& process, const std::string& needle, std::size_t offset);

  // Ends the scenario: every server back up, each agent stopped cleanly, restarted in drain
  // mode until its outbox is empty, stopped again; then one audit line per agent.
  // `broker_loss`: why broker-mode agents may lose samples in this scenario (see
  // AuditLine::loss_allowed); empty: they may not.
  std::vector<AuditLine> finish_and_audit(const std::string& scenario,
                                          const std::string& broker_loss = {});

 private:
  std::map<std::int64_t, std::int64_t> seq_rows(const std::string& agent) const;
  // Copies every log of the cluster to $STREAMTRACK_FAULTS_LOG_DIR/<scenario>/ (if set).
  void keep_logs(const std::string& scenario) const;
  std::filesystem::path collector_config(std::size_t index) const;

  ClusterOptions m_options;
  std::unique_ptr<testing::NetNamespace> m_netns;
  std::unique_ptr<testing::TmpfsMount> m_tmpfs;
  testing::PostgresServer m_pg{
      testing::PostgresServer::Options{.durable_commits = m_options.durable_pg}};
  std::unique_ptr<testing::MosquittoServer> m_broker;
  testing::TempDir m_dir{"streamtrack-faults"};
  std::string m_dsn;
  std::vector<std::unique_ptr<Process>> m_collectors;
  std::vector<std::unique_ptr<Process>> m_old_collectors;  // earlier runs, kept for their logs
  std::vector<std::unique_ptr<FaultAgent>> m_agents;
  mutable std::string m_last_pg_error;
};

// Every scenario by name, in suite order ("combined" last).
std::vector<std::string> scenario_names();
// Runs one scenario on a fresh cluster; prints and returns its audit lines. Throws
// std::runtime_error when an awaited event never comes (the message says which).
std::vector<AuditLine> run_scenario(const std::string& name, const Load& load);

}  // namespace streamtrack::faults
