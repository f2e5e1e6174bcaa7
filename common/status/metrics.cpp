#include "common/status/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <array>
#include <atomic>
#include <map>
#include <mutex>

#include "common/version.hpp"

namespace streamtrack::status {

namespace pm = prometheus;

namespace {

double unix_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string str(std::string_view s) {
  return std::string(s);
}

double as_double(std::int64_t v) {
  return static_cast<double>(v);
}

}  // namespace

struct Metrics::Impl {
  std::shared_ptr<pm::Registry> registry = std::make_shared<pm::Registry>();
  pm::Gauge* mqtt_connected = nullptr;
  pm::Counter* mqtt_connects = nullptr;
};

Metrics::Metrics(std::string daemon)
    : m_impl(std::make_unique<Impl>()), m_daemon(std::move(daemon)) {
  auto& r = *m_impl->registry;
  pm::BuildGauge()
      .Name("streamtrack_build_info")
      .Help("Always 1; the labels name the daemon and its version")
      .Register(r)
      .Add({{"daemon", m_daemon}, {"version", k_version}})
      .Set(1);
  pm::BuildGauge()
      .Name("streamtrack_start_time_seconds")
      .Help("Unix time at which the daemon started")
      .Register(r)
      .Add({})
      .Set(unix_seconds());
  m_impl->mqtt_connected = &pm::BuildGauge()
                                .Name("streamtrack_mqtt_connected")
                                .Help("1 while the MQTT connection to the broker is up")
                                .Register(r)
                                .Add({});
  m_impl->mqtt_connects = &pm::BuildCounter()
                               .Name("streamtrack_mqtt_connects_total")
                               .Help("Successful connections (and reconnections) to the broker")
                               .Register(r)
                               .Add({});
}

Metrics::~Metrics() = default;

void Metrics::set_mqtt_connected(bool connected) {
  m_impl->mqtt_connected->Set(connected ? 1 : 0);
}

void Metrics::count_mqtt_connect() {
  m_impl->mqtt_connects->Increment();
}

std::string Metrics::render() const {
  return pm::TextSerializer().Serialize(m_impl->registry->Collect());
}

struct AgentMetrics::Agent {
  pm::Family<pm::Counter>* polls = nullptr;
  pm::Family<pm::Histogram>* poll_duration = nullptr;
  pm::Family<pm::Counter>* samples = nullptr;
  pm::Family<pm::Gauge>* last_success = nullptr;
  pm::Gauge* outbox_rows = nullptr;
  pm::Gauge* outbox_bytes = nullptr;
  pm::Family<pm::Counter>* outbox_drops = nullptr;
  pm::Gauge* inflight = nullptr;
  pm::Counter* published = nullptr;
  pm::Family<pm::Counter>* acks = nullptr;
  pm::Counter* publish_failures = nullptr;
  pm::Family<pm::Counter>* acks_ignored = nullptr;
  pm::Family<pm::Counter>* samples_rejected = nullptr;
  pm::Counter* quarantined = nullptr;
  pm::Family<pm::Counter>* identity_conflicts = nullptr;
  std::atomic<std::int64_t> last_success_steady_ns{-1};
  // The series of one source, looked up by name once per poll instead of building label maps
  // for four families. Guarded by sources_mutex.
  struct Source {
    std::string type;
    std::array<pm::Counter*, 3> polls{};  // by Outcome, made at the first poll with it
    pm::Histogram* duration = nullptr;
    pm::Counter* samples = nullptr;     // made at the first successful poll
    pm::Gauge* last_success = nullptr;  // made at the first successful poll
  };
  std::map<std::string, Source, std::less<>> sources;
  std::mutex sources_mutex;

  Source& source(std::string_view name, std::string_view type) {
    auto it = sources.find(name);
    if (it == sources.end() || it->second.type != type) {
      Source fresh;
      fresh.type = std::string(type);
      fresh.duration = &poll_duration->Add(
          {{"source", std::string(name)}},
          pm::Histogram::BucketBoundaries{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30});
      it = sources.insert_or_assign(std::string(name), std::move(fresh)).first;
    }
    return it->second;
  }
};

AgentMetrics::AgentMetrics() : Metrics("streamtrack-agent"), m_agent(std::make_unique<Agent>()) {
  auto& r = *m_impl->registry;
  auto& a = *m_agent;
  a.polls = &pm::BuildCounter()
                 .Name("streamtrack_agent_polls_total")
                 .Help("Polls by source, source type and outcome (ok, retry, error)")
                 .Register(r);
  a.poll_duration = &pm::BuildHistogram()
                         .Name("streamtrack_agent_poll_duration_seconds")
                         .Help("Time from request to parsed samples, by source")
                         .Register(r);
  a.samples = &pm::BuildCounter()
                   .Name("streamtrack_agent_samples_total")
                   .Help("Samples produced by successful polls, by source")
                   .Register(r);
  a.last_success = &pm::BuildGauge()
                        .Name("streamtrack_agent_last_successful_poll_timestamp_seconds")
                        .Help("Unix time of the last successful poll, by source")
                        .Register(r);
  a.outbox_rows = &pm::BuildGauge()
                       .Name("streamtrack_agent_outbox_depth_rows")
                       .Help("Unsent samples in the outbox")
                       .Register(r)
                       .Add({});
  a.outbox_bytes = &pm::BuildGauge()
                        .Name("streamtrack_agent_outbox_depth_bytes")
                        .Help("Payload bytes of the unsent samples in the outbox")
                        .Register(r)
                        .Add({});
  a.outbox_drops = &pm::BuildCounter()
                        .Name("streamtrack_agent_outbox_drops_total")
                        .Help("Samples dropped because the outbox was full, by policy")
                        .Register(r);
  a.inflight = &pm::BuildGauge()
                    .Name("streamtrack_agent_publish_inflight")
                    .Help("Published samples awaiting their acknowledgement")
                    .Register(r)
                    .Add({});
  a.published = &pm::BuildCounter()
                     .Name("streamtrack_agent_published_total")
                     .Help("Samples published to the broker (including republications)")
                     .Register(r)
                     .Add({});
  a.acks = &pm::BuildCounter()
                .Name("streamtrack_agent_acks_total")
                .Help("Acknowledged samples, by kind (puback: broker, committed: collector)")
                .Register(r);
  a.publish_failures = &pm::BuildCounter()
                            .Name("streamtrack_agent_publish_failures_total")
                            .Help("Publishes that failed and were left in the outbox")
                            .Register(r)
                            .Add({});
  a.acks_ignored = &pm::BuildCounter()
                        .Name("streamtrack_agent_acks_ignored_total")
                        .Help(
                            "Acked seqs not applied, by reason (identity_conflict, retained, "
                            "wrong_topic, malformed, beyond_last_seq, not_published, "
                            "already_done)")
                        .Register(r);
  a.samples_rejected = &pm::BuildCounter()
                            .Name("streamtrack_agent_samples_rejected_total")
                            .Help(
                                "Samples a source reported that the wire cannot carry "
                                "(dropped before the outbox), by source")
                            .Register(r);
  a.quarantined = &pm::BuildCounter()
                       .Name("streamtrack_agent_outbox_quarantined_total")
                       .Help(
                           "Stored samples refused for good when published, moved to the "
                           "outbox's dead-letter table")
                       .Register(r)
                       .Add({});
  a.identity_conflicts = &pm::BuildCounter()
                              .Name("streamtrack_agent_identity_conflicts_total")
                              .Help(
                                  "Signs that another agent uses this agent's id, by evidence "
                                  "(client_id: the broker keeps dropping the connection; "
                                  "ack: an ack beyond the last seq)")
                              .Register(r);
  // Present from the start so dashboards and alerts see zeros rather than absent series.
  for (const char* kind : {"puback", "committed"}) a.acks->Add({{"kind", kind}});
  for (const char* evidence : {"client_id", "ack"}) {
    a.identity_conflicts->Add({{"evidence", evidence}});
  }
}

AgentMetrics::~AgentMetrics() = default;

void AgentMetrics::poll_finished(std::string_view source, std::string_view type, Outcome outcome,
                                 Seconds duration, std::size_t samples) {
  auto& a = *m_agent;
  std::lock_guard lock(a.sources_mutex);
  auto& s = a.source(source, type);
  auto*& polls = s.polls.at(static_cast<std::size_t>(outcome));
  if (!polls) {
    polls = &a.polls->Add(
        {{"source", str(source)}, {"type", str(type)}, {"outcome", str(outcome_name(outcome))}});
  }
  polls->Increment();
  s.duration->Observe(duration.count());
  if (outcome != Outcome::ok) return;
  if (!s.samples) {
    s.samples = &a.samples->Add({{"source", str(source)}});
    s.last_success = &a.last_success->Add({{"source", str(source)}});
  }
  s.samples->Increment(static_cast<double>(samples));
  s.last_success->Set(unix_seconds());
  a.last_success_steady_ns.store(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
}

std::optional<Seconds> AgentMetrics::last_successful_poll_age() const {
  const auto ns = m_agent->last_success_steady_ns.load();
  if (ns < 0) return std::nullopt;
  const auto then = std::chrono::steady_clock::time_point(std::chrono::nanoseconds(ns));
  return Seconds(std::chrono::steady_clock::now() - then);
}

void AgentMetrics::set_outbox(std::int64_t rows, std::int64_t bytes) {
  m_agent->outbox_rows->Set(as_double(rows));
  m_agent->outbox_bytes->Set(as_double(bytes));
}

void AgentMetrics::count_outbox_drops(std::string_view policy, std::int64_t count) {
  m_agent->outbox_drops->Add({{"policy", str(policy)}}).Increment(as_double(count));
}

void AgentMetrics::set_publish_inflight(std::int64_t count) {
  m_agent->inflight->Set(as_double(count));
}

void AgentMetrics::count_published(std::int64_t count) {
  m_agent->published->Increment(as_double(count));
}

void AgentMetrics::count_acks(std::string_view kind, std::int64_t count) {
  m_agent->acks->Add({{"kind", str(kind)}}).Increment(as_double(count));
}

void AgentMetrics::count_acks_ignored(std::string_view reason, std::int64_t count) {
  m_agent->acks_ignored->Add({{"reason", str(reason)}}).Increment(as_double(count));
}

void AgentMetrics::count_samples_rejected(std::string_view source, std::int64_t count) {
  m_agent->samples_rejected->Add({{"source", str(source)}}).Increment(as_double(count));
}

void AgentMetrics::count_quarantined(std::int64_t count) {
  m_agent->quarantined->Increment(as_double(count));
}

void AgentMetrics::count_identity_conflict(std::string_view evidence) {
  m_agent->identity_conflicts->Add({{"evidence", str(evidence)}}).Increment();
}

void AgentMetrics::count_publish_failures(std::int64_t count) {
  m_agent->publish_failures->Increment(as_double(count));
}

struct CollectorMetrics::Collector {
  pm::Counter* ingest_rows = nullptr;
  pm::Family<pm::Counter>* ingest_rejects = nullptr;
  pm::Histogram* batch_rows = nullptr;
  pm::Histogram* batch_seconds = nullptr;
  pm::Family<pm::Counter>* batches = nullptr;
  pm::Gauge* pending_rows = nullptr;
  pm::Counter* acks_sent = nullptr;
  pm::Counter* acks_dropped = nullptr;
  pm::Counter* frames = nullptr;
  pm::Counter* frame_samples = nullptr;
  pm::Family<pm::Gauge>* pool = nullptr;
  pm::Gauge* database_up = nullptr;
  pm::Family<pm::Gauge>* alerts = nullptr;
  pm::Family<pm::Counter>* alert_transitions = nullptr;
};

CollectorMetrics::CollectorMetrics()
    : Metrics("streamtrack-collector"), m_collector(std::make_unique<Collector>()) {
  auto& r = *m_impl->registry;
  auto& c = *m_collector;
  c.ingest_rows = &pm::BuildCounter()
                       .Name("streamtrack_collector_ingest_rows_total")
                       .Help("Sample rows committed to PostgreSQL")
                       .Register(r)
                       .Add({});
  c.ingest_rejects = &pm::BuildCounter()
                          .Name("streamtrack_collector_ingest_rejects_total")
                          .Help("Payloads or rows refused and dead-lettered, by reason")
                          .Register(r);
  c.batch_rows =
      &pm::BuildHistogram()
           .Name("streamtrack_collector_batch_rows")
           .Help("Rows per batch write")
           .Register(r)
           .Add({}, pm::Histogram::BucketBoundaries{1, 10, 50, 100, 500, 1000, 2500, 5000, 10000});
  c.batch_seconds = &pm::BuildHistogram()
                         .Name("streamtrack_collector_batch_write_seconds")
                         .Help("Time to write and commit one batch")
                         .Register(r)
                         .Add({}, pm::Histogram::BucketBoundaries{0.001, 0.005, 0.01, 0.025, 0.05,
                                                                  0.1, 0.25, 0.5, 1, 2.5, 5, 10});
  c.batches = &pm::BuildCounter()
                   .Name("streamtrack_collector_batches_total")
                   .Help("Batch writes by outcome (ok, retry, error)")
                   .Register(r);
  c.pending_rows = &pm::BuildGauge()
                        .Name("streamtrack_collector_pending_rows")
                        .Help("Rows received and not yet committed")
                        .Register(r)
                        .Add({});
  c.acks_sent = &pm::BuildCounter()
                     .Name("streamtrack_collector_acks_sent_total")
                     .Help("Acknowledgements of committed sequence ranges sent to agents")
                     .Register(r)
                     .Add({});
  c.acks_dropped = &pm::BuildCounter()
                        .Name("streamtrack_collector_acks_dropped_total")
                        .Help("Committed seqs whose ack was given up (their agent resends them)")
                        .Register(r)
                        .Add({});
  c.frames = &pm::BuildCounter()
                  .Name("streamtrack_collector_frames_total")
                  .Help("Frames received (several samples of one agent in one message)")
                  .Register(r)
                  .Add({});
  c.frame_samples = &pm::BuildCounter()
                         .Name("streamtrack_collector_frame_samples_total")
                         .Help("Samples received inside frames (committed or rejected each)")
                         .Register(r)
                         .Add({});
  c.pool = &pm::BuildGauge()
                .Name("streamtrack_collector_postgres_connections")
                .Help("PostgreSQL pool connections by state (idle, busy, broken)")
                .Register(r);
  c.database_up = &pm::BuildGauge()
                       .Name("streamtrack_collector_postgres_up")
                       .Help("1 while PostgreSQL answered the last attempt")
                       .Register(r)
                       .Add({});
  c.alerts = &pm::BuildGauge()
                  .Name("streamtrack_collector_alerts")
                  .Help("Alerts by state (pending, firing, resolved)")
                  .Register(r);
  c.alert_transitions = &pm::BuildCounter()
                             .Name("streamtrack_collector_alert_transitions_total")
                             .Help("Alert state changes, by rule and new state")
                             .Register(r);
  for (const char* outcome : {"ok", "retry", "error"}) c.batches->Add({{"outcome", outcome}});
  for (const char* state : {"idle", "busy", "broken"}) c.pool->Add({{"state", state}});
  for (const char* state : {"pending", "firing", "resolved"}) c.alerts->Add({{"state", state}});
}

CollectorMetrics::~CollectorMetrics() = default;

void CollectorMetrics::count_ingest_rows(std::int64_t rows) {
  m_collector->ingest_rows->Increment(as_double(rows));
}

void CollectorMetrics::count_ingest_rejects(std::string_view reason, std::int64_t count) {
  m_collector->ingest_rejects->Add({{"reason", str(reason)}}).Increment(as_double(count));
}

void CollectorMetrics::batch_written(std::int64_t rows, Seconds duration, Outcome outcome) {
  auto& c = *m_collector;
  c.batches->Add({{"outcome", str(outcome_name(outcome))}}).Increment();
  c.batch_rows->Observe(as_double(rows));
  c.batch_seconds->Observe(duration.count());
}

void CollectorMetrics::set_pending_rows(std::int64_t rows) {
  m_collector->pending_rows->Set(as_double(rows));
}

void CollectorMetrics::count_frame(std::int64_t samples) {
  m_collector->frames->Increment();
  m_collector->frame_samples->Increment(as_double(samples));
}

void CollectorMetrics::count_acks_sent(std::int64_t count) {
  m_collector->acks_sent->Increment(as_double(count));
}

void CollectorMetrics::count_acks_dropped(std::int64_t seqs) {
  m_collector->acks_dropped->Increment(as_double(seqs));
}

void CollectorMetrics::set_pool(std::int64_t idle, std::int64_t busy, std::int64_t broken) {
  auto& pool = *m_collector->pool;
  pool.Add({{"state", "idle"}}).Set(as_double(idle));
  pool.Add({{"state", "busy"}}).Set(as_double(busy));
  pool.Add({{"state", "broken"}}).Set(as_double(broken));
}

void CollectorMetrics::set_database_up(bool up) {
  m_collector->database_up->Set(up ? 1 : 0);
}

void CollectorMetrics::set_alerts(std::string_view state, std::int64_t count) {
  m_collector->alerts->Add({{"state", str(state)}}).Set(as_double(count));
}

void CollectorMetrics::declare_alert_rules(const std::vector<std::string>& rules) {
  for (const auto& rule : rules) {
    for (const char* state : {"pending", "firing", "resolved"}) {
      m_collector->alert_transitions->Add({{"rule", rule}, {"state", state}});
    }
  }
}

void CollectorMetrics::count_alert_transition(std::string_view rule, std::string_view state) {
  m_collector->alert_transitions->Add({{"rule", str(rule)}, {"state", str(state)}}).Increment();
}

}  // namespace streamtrack::status
