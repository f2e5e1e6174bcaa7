// The fault scenarios: each starts a fresh cluster, lets samples flow, injects its fault while
// they flow, heals it, and ends with the audit (FaultCluster::finish_and_audit).
#include <signal.h>

#include <functional>
#include <iostream>
#include <stdexcept>
#include <thread>

#include "tests/faults/cluster.hpp"

namespace streamtrack::faults {

namespace {

using testing::wait_until;

void require(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error("faults: timed out waiting for " + what);
}

// Why broker-mode agents ("the sample is delivered once the broker has it") may lose samples
// in a scenario; the audit reports such losses with this note and fails on everything else.
// A collector killed, or stopped while PostgreSQL is away, loses what it received and had not
// committed.
const std::string k_collector_memory = "collector-memory";
// Mosquitto 2.0 restores the sessions and queued messages of a persistence file, but not the
// shared subscriptions ($share/...): until each collector has subscribed again, samples reach
// no one (checked by hand with mosquitto_sub -c against 2.0.11).
const std::string k_shared_not_restored = "broker-restart-shared-subscription";
// Killed, the broker loses what it acknowledged after its last save (autosave every second),
// and the shared subscriptions as above.
const std::string k_broker_crash = "broker-crash";

// Lets a fault last `load.hold` longer once it took effect: how long an outage is, not a wait
// for an outcome (those are wait_until with deadlines).
void hold(const Load& load) {
  std::this_thread::sleep_for(load.hold);
}

// Waits until every agent whose process runs has reported `needle` in its log past `offsets`.
void wait_agents(FaultCluster& c, const std::map<std::string, std::size_t>& offsets,
                 const std::string& needle) {
  for (auto& a : c.agents()) {
    if (!a->running() || !offsets.count(a->id())) continue;
    FaultCluster::wait_output(a->process(), needle, offsets.at(a->id()));
  }
}

// The scenario run_scenario() is running (names its kept logs).
thread_local std::string g_scenario;

ClusterOptions options(const Load& load) {
  ClusterOptions o;
  o.scenario = g_scenario;
  o.load = load;
  return o;
}

std::map<std::string, std::size_t> agent_offsets(FaultCluster& c) {
  std::map<std::string, std::size_t> out;
  for (auto& a : c.agents()) out[a->id()] = a->output_size();
  return out;
}

// Agents of both modes killed while samples flow, restarted at once.
std::vector<AuditLine> agent_kill(const Load& load) {
  FaultCluster c(options(load));
  for (int round = 0; round < 2; ++round) {
    for (auto& a : c.agents()) a->kill();
    for (auto& a : c.agents()) a->start();
    c.wait_flowing(load.flow_rows);
  }
  return c.finish_and_audit("agent_kill");
}

// The broker goes away so a backlog builds, then each agent is stopped with SIGTERM holding
// it; the broker and the agents come back.
std::vector<AuditLine> agent_term_backlog(const Load& load) {
  FaultCluster c(options(load));
  c.broker().stop();
  for (auto& a : c.agents()) {
    require(wait_until([&] { return a->stats().at("depth") >= 3 * load.channels; }),
            "a backlog in agent " + a->id());
  }
  for (auto& a : c.agents()) a->terminate();
  c.broker().start();
  for (auto& a : c.agents()) a->start();
  c.wait_flowing(load.flow_rows);
  return c.finish_and_audit("agent_term_backlog", k_shared_not_restored);
}

// Samples an agent sent in frames, summed over the stop lines of its runs ("framed=N").
std::int64_t framed_samples(const std::string& log) {
  std::int64_t total = 0;
  for (auto at = log.find(" framed="); at != std::string::npos; at = log.find(" framed=", at + 1)) {
    total += std::stoll(log.substr(at + 8, 20));
  }
  return total;
}

// The broker away until every agent holds a backlog of ten rounds, then back: each agent
// drains it as frames (issue 13 goal 3, max_frame_samples at its default) into rows exactly
// once, interleaved with live single samples.
std::vector<AuditLine> backlog_frames(const Load& load) {
  FaultCluster c(options(load));
  const auto offsets = agent_offsets(c);
  c.broker().stop();
  for (auto& a : c.agents()) {
    require(wait_until([&] { return a->stats().at("depth") >= 10 * load.channels; }),
            "a backlog in agent " + a->id());
  }
  c.broker().start();
  wait_agents(c, offsets, "mqtt: connected");
  c.wait_flowing(load.flow_rows);
  auto lines = c.finish_and_audit("backlog_frames", k_shared_not_restored);
  for (auto& a : c.agents()) {
    const auto framed = framed_samples(a->all_output());
    // Broker delivery sends no frames (a PUBACK does not show that a collector reads them).
    if (a->delivery() == "broker") {
      if (framed != 0) {
        throw std::runtime_error("faults: broker-mode agent " + a->id() + " sent frames");
      }
      continue;
    }
    if (framed < 2) {
      throw std::runtime_error("faults: agent " + a->id() + " sent its backlog without frames");
    }
    std::cout << "faults: scenario=backlog_frames agent=" << a->id() << " framed=" << framed
              << "\n";
  }
  return lines;
}

std::vector<AuditLine> broker_outage(const Load& load, bool kill, const std::string& name) {
  FaultCluster c(options(load));
  const auto offsets = agent_offsets(c);
  if (kill) {
    c.broker().kill();
  } else {
    c.broker().stop();
  }
  wait_agents(c, offsets, "mqtt: disconnected");
  hold(load);
  c.broker().start();
  wait_agents(c, offsets, "mqtt: connected");
  c.wait_flowing(load.flow_rows);
  return c.finish_and_audit(name, kill ? k_broker_crash : k_shared_not_restored);
}

// A collector SIGKILLed while batches are written (twice, once each when two run).
std::vector<AuditLine> collector_kill(const Load& load) {
  FaultCluster c(options(load));
  for (std::size_t i = 0; i < c.collector_count(); ++i) {
    c.wait_flowing(load.flow_rows / 2);
    c.kill_collector(i);
    c.wait_flowing(load.flow_rows / 2);
    c.start_collector(i);
  }
  c.wait_flowing(load.flow_rows);
  return c.finish_and_audit("collector_kill", k_collector_memory);
}

// PostgreSQL stops, the collectors' queues fill up, one collector gets SIGTERM with a full
// queue; the database and the collector come back.
std::vector<AuditLine> collector_term_full_queue(const Load& load) {
  auto o = options(load);
  o.collector_max_pending_rows = 200;
  FaultCluster c(o);
  const auto offset = c.collector(0).output().size();
  c.pg().stop();
  FaultCluster::wait_output(c.collector(0), "ingest: backlog full", offset);
  const int code = c.terminate_collector(0);
  if (code != 0) throw std::runtime_error("faults: collector exited with " + std::to_string(code));
  c.pg().start();
  c.start_collector(0);
  c.wait_flowing(load.flow_rows);
  return c.finish_and_audit("collector_term_full_queue", k_collector_memory);
}

std::vector<AuditLine> pg_immediate(const Load& load) {
  FaultCluster c(options(load));
  const auto offset = c.collector(0).output().size();
  c.pg().stop_immediate();
  FaultCluster::wait_output(c.collector(0), "ingest: batch not written, retrying", offset);
  c.pg().start();
  c.wait_flowing(load.flow_rows);
  return c.finish_and_audit("pg_immediate");
}

// The same against a server whose default is synchronous_commit = off: a commit the server
// reported may vanish in its crash recovery, after the collector acknowledged it and the agent
// deleted the sample, unless the collector makes its own commits durable.
std::vector<AuditLine> pg_immediate_async_commit(const Load& load) {
  auto o = options(load);
  o.durable_pg = false;
  FaultCluster c(o);
  for (int round = 0; round < 3; ++round) {
    const auto offset = c.collector(0).output().size();
    c.pg().stop_immediate();
    FaultCluster::wait_output(c.collector(0), "ingest: batch not written, retrying", offset);
    c.pg().start();
    c.wait_flowing(load.flow_rows);
  }
  return c.finish_and_audit("pg_immediate_async_commit");
}

// PostgreSQL away for longer than every timeout: the collectors' connect (1s), statement and
// TCP user timeouts (5s) and the agents' ack_timeout (3s, so committed agents publish again).
std::vector<AuditLine> pg_long_outage(const Load& load) {
  FaultCluster c(options(load));
  const auto offset = c.collector(0).output().size();
  c.pg().stop();
  FaultCluster::wait_output(c.collector(0), "ingest: batch not written, retrying", offset);
  std::this_thread::sleep_for(std::chrono::milliseconds{6'000} + load.hold);
  c.pg().start();
  c.wait_flowing(load.flow_rows);
  return c.finish_and_audit("pg_long_outage");
}

// The agent in its own network namespace loses its link (no reset: packets vanish) until its
// keepalive notices, then gets it back.
std::vector<AuditLine> network_cut(const Load& load) {
  auto o = options(load);
  o.netns_agent = true;
  FaultCluster c(o);
  auto& agent = c.agent("net");
  const auto offset = agent.output_size();
  c.netns()->link_down();
  FaultCluster::wait_output(agent.process(), "mqtt: disconnected", offset);
  hold(load);
  c.netns()->link_up();
  FaultCluster::wait_output(agent.process(), "mqtt: connected", offset);
  c.wait_flowing(load.flow_rows);
  return c.finish_and_audit("network_cut");
}

// The outbox's file system fills up: the agent keeps samples in memory, drops over its limits
// (counted), and writes them once space is freed.
std::vector<AuditLine> disk_full(const Load& load) {
  auto o = options(load);
  o.tmpfs_agent = true;
  FaultCluster c(o);
  auto& agent = c.agent("disk");
  const auto offset = agent.output_size();
  c.tmpfs()->fill();
  FaultCluster::wait_output(agent.process(), "outbox: write failed", offset);
  FaultCluster::wait_output(agent.process(), "outbox: unsaved samples over the limits", offset);
  c.tmpfs()->release();
  FaultCluster::wait_output(agent.process(), "outbox: writes recovered", offset);
  c.wait_flowing(load.flow_rows);
  auto lines = c.finish_and_audit("disk_full");
  for (const auto& l : lines) {
    if (l.agent == "disk" && l.dropped == 0) {
      throw std::runtime_error("faults: disk_full: the agent on the full disk dropped nothing");
    }
  }
  return lines;
}

// Everything at once: the network is cut, an agent and the broker are killed, PostgreSQL stops
// immediately and a collector is killed; then all come back in the worst order (agents first).
std::vector<AuditLine> combined(const Load& load) {
  auto o = options(load);
  o.netns_agent = true;
  FaultCluster c(o);
  c.netns()->link_down();
  c.agents().front()->kill();
  c.broker().kill();
  c.pg().stop_immediate();
  c.kill_collector(0);
  hold(load);
  c.agents().front()->start();
  c.netns()->link_up();
  c.broker().start();
  c.start_collector(0);
  c.pg().start();
  c.wait_flowing(load.flow_rows);
  // A second wave while the backlog drains: broker restart and the other agents killed.
  c.broker().stop();
  for (auto& a : c.agents()) {
    if (a.get() != c.agents().front().get()) a->kill();
  }
  c.broker().start();
  for (auto& a : c.agents()) {
    if (!a->running()) a->start();
  }
  c.wait_flowing(load.flow_rows);
  return c.finish_and_audit("combined", k_collector_memory + "," + k_broker_crash);
}

struct Scenario {
  const char* name;
  std::function<std::vector<AuditLine>(const Load&)> run;
};

const std::vector<Scenario>& scenarios() {
  static const std::vector<Scenario> all{
      {"agent_kill", agent_kill},
      {"agent_term_backlog", agent_term_backlog},
      {"backlog_frames", backlog_frames},
      {"broker_restart", [](const Load& l) { return broker_outage(l, false, "broker_restart"); }},
      {"broker_kill", [](const Load& l) { return broker_outage(l, true, "broker_kill"); }},
      {"collector_kill", collector_kill},
      {"collector_term_full_queue", collector_term_full_queue},
      {"pg_immediate", pg_immediate},
      {"pg_immediate_async_commit", pg_immediate_async_commit},
      {"pg_long_outage", pg_long_outage},
      {"network_cut", network_cut},
      {"disk_full", disk_full},
      {"combined", combined},
  };
  return all;
}

}  // namespace

std::vector<std::string> scenario_names() {
  std::vector<std::string> out;
  for (const auto& s : scenarios()) out.emplace_back(s.name);
  return out;
}

std::vector<AuditLine> run_scenario(const std::string& name, const Load& load) {
  for (const auto& s : scenarios()) {
    if (name == s.name) {
      g_scenario = name;
      return s.run(load);
    }
  }
  throw std::invalid_argument("faults: no scenario \"" + name + "\"");
}

}  // namespace streamtrack::faults
