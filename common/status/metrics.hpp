#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/util/outcome.hpp"

// The Prometheus metrics of both daemons, behind small typed calls so the running code never
// sees prometheus-cpp. Every call is thread-safe and cheap enough for each poll or batch; none
// throws once constructed. docs/operations.md lists every metric.
namespace streamtrack::status {

// How a poll or a write ended (common/util/outcome.hpp), the `outcome` label.
using streamtrack::Outcome;

using Seconds = std::chrono::duration<double>;

// What every daemon exports: build info, start time, MQTT connection state. The base of
// AgentMetrics and CollectorMetrics; StatusServer renders it.
class Metrics {
 public:
  // `daemon` is "streamtrack-agent" or "streamtrack-collector".
  explicit Metrics(std::string daemon);
  virtual ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  const std::string& daemon() const { return m_daemon; }

  void set_mqtt_connected(bool connected);
  // One more (re)connection to the broker.
  void count_mqtt_connect();

  // Everything in the Prometheus text exposition format 0.0.4.
  std::string render() const;

 protected:
  struct Impl;
  std::unique_ptr<Impl> m_impl;

 private:
  std::string m_daemon;
};

class AgentMetrics : public Metrics {
 public:
  AgentMetrics();
  ~AgentMetrics() override;

  // A finished poll of source `source` (of type `type`): counts it by outcome, observes its
  // duration, and on Outcome::ok records the time as the last successful poll.
  void poll_finished(std::string_view source, std::string_view type, Outcome outcome,
                     Seconds duration, std::size_t samples);
  // Seconds since the most recent successful poll of any source; nullopt before the first.
  std::optional<Seconds> last_successful_poll_age() const;

  void set_outbox(std::int64_t rows, std::int64_t bytes);
  // Samples dropped from the full outbox; `policy` is "drop_oldest" or "drop_newest".
  void count_outbox_drops(std::string_view policy, std::int64_t count);

  void set_publish_inflight(std::int64_t count);
  void count_published(std::int64_t count);
  // `kind` is "puback" (broker) or "committed" (the collector's ack).
  void count_acks(std::string_view kind, std::int64_t count);
  void count_publish_failures(std::int64_t count);
  // Acked seqs the agent did not apply; `reason` is "identity_conflict", "retained",
  // "wrong_topic", "malformed", "beyond_last_seq", "not_published" or "already_done".
  void count_acks_ignored(std::string_view reason, std::int64_t count);
  // Samples of `source` dropped before the outbox because the wire cannot carry them.
  void count_samples_rejected(std::string_view source, std::int64_t count);
  // Stored samples moved to the dead-letter table (refused for good when published).
  void count_quarantined(std::int64_t count);
  // A sign that another agent uses this id; `evidence` is "client_id" or "ack".
  void count_identity_conflict(std::string_view evidence);

 private:
  struct Agent;
  std::unique_ptr<Agent> m_agent;
};

class CollectorMetrics : public Metrics {
 public:
  CollectorMetrics();
  ~CollectorMetrics() override;

  void count_ingest_rows(std::int64_t rows);
  // Payloads or rows refused; `reason` is a short token ("decode", "schema", "sqlstate_22", ...).
  void count_ingest_rejects(std::string_view reason, std::int64_t count);
  // A batch write of `rows` rows that took `duration`.
  void batch_written(std::int64_t rows, Seconds duration, Outcome outcome);
  void set_pending_rows(std::int64_t rows);
  void count_acks_sent(std::int64_t count);
  // Committed seqs whose ack the collector gave up (the client refused it and the store of
  // unsent acks is full): their agent publishes them again after its ack_timeout.
  void count_acks_dropped(std::int64_t seqs);
  // One frame received (whole or refused whole, then `samples` is 0) carrying `samples`
  // elements, each also counted as a row or a reject like a single-sample message.
  void count_frame(std::int64_t samples);

  // PostgreSQL pool: connections idle, busy, and broken (being reconnected).
  void set_pool(std::int64_t idle, std::int64_t busy, std::int64_t broken);
  void set_database_up(bool up);

  // Alerts currently in `state` ("pending", "firing", "resolved").
  void set_alerts(std::string_view state, std::int64_t count);
  void count_alert_transition(std::string_view rule, std::string_view state);
  // Creates the transition series of each rule (pending, firing, resolved) at 0, so that
  // rate() and alerting on them work before the first transition.
  void declare_alert_rules(const std::vector<std::string>& rules);

 private:
  struct Collector;
  std::unique_ptr<Collector> m_collector;
};

}  // namespace streamtrack::status
