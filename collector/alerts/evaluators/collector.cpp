#include "collector/alerts/evaluators/evaluators.hpp"
#include "collector/alerts/evaluators/text.hpp"

namespace streamtrack::collector::alerts::evaluators {

namespace {

// The one candidate, judged by `judge(last observation, "collector <id>", candidate)` when
// the collector has observed itself.
template <typename Judge>
std::vector<Candidate> the_collector(const EvalContext& cx, Judge judge) {
  Candidate e;
  e.key = {cx.collector};
  e.labels = {{"collector", cx.collector}};
  if (cx.seen.self.last) judge(*cx.seen.self.last, "collector " + cx.collector, e);
  return {std::move(e)};
}

}  // namespace

std::vector<Candidate> ingest_errors(const EvalContext& cx) {
  return the_collector(cx, [&](const CollectorObservation&, const std::string& who, Candidate& e) {
    const auto& ingest = cx.seen.self.ingest;
    if (ingest.size() < 2) return;
    const double total = ingest.back().total - ingest.front().total;
    const double bad = ingest.back().bad - ingest.front().bad;
    cx.judge(e, total > 0 ? bad / total * 100.0 : 0.0);
    e.summary = who + ": " + num(*e.value) + "% of messages refused";
  });
}

std::vector<Candidate> write_latency(const EvalContext& cx) {
  return the_collector(cx,
                       [&](const CollectorObservation& o, const std::string& who, Candidate& e) {
                         if (!o.write_latency_s) return;
                         cx.judge(e, *o.write_latency_s);
                         e.summary = who + ": batch writes take " + num(*e.value) + " s";
                       });
}

std::vector<Candidate> postgres_down(const EvalContext& cx) {
  return the_collector(cx, [](const CollectorObservation& o, const std::string& who, Candidate& e) {
    if (!o.postgres_up) return;
    e.known = true;
    e.on = !*o.postgres_up;
    e.summary = who + ": PostgreSQL unreachable";
  });
}

std::vector<Candidate> memory(const EvalContext& cx) {
  return the_collector(
      cx, [&](const CollectorObservation& o, const std::string& who, Candidate& e) {
        if (!o.memory_percent) return;
        cx.judge(e, *o.memory_percent);
        e.summary = who + ": resident memory at " + num(*e.value) + "% of its limit";
      });
}

std::vector<Candidate> missing_partition(const EvalContext& cx) {
  return the_collector(cx, [&](const CollectorObservation& o, const std::string&, Candidate& e) {
    if (!o.missing_partitions) return;
    cx.judge(e, static_cast<double>(*o.missing_partitions));
    e.summary = num(*e.value) + " monthly partition(s) of livestream_metrics missing";
  });
}

std::vector<Candidate> default_partition(const EvalContext& cx) {
  return the_collector(
      cx, [&](const CollectorObservation& o, const std::string& who, Candidate& e) {
        if (!o.default_partition_rows) return;
        cx.judge(e, static_cast<double>(*o.default_partition_rows));
        e.summary = who + ": " + num(*e.value) + " rows in livestream_metrics_default";
      });
}

}  // namespace streamtrack::collector::alerts::evaluators
