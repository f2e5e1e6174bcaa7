#pragma once

#include <utility>
#include <vector>

#include "collector/alerts/evaluation.hpp"

// Every rule kind's evaluator, one per row of rule.cpp's k_kinds, defined in the file of its
// scope (stream.cpp, agent.cpp, collector.cpp).
namespace streamtrack::collector::alerts::evaluators {

// Stream rules: one candidate per tracked channel the rule's match selects, keyed on
// (platform, channel).
std::vector<Candidate> went_live(const EvalContext& cx);
std::vector<Candidate> went_offline(const EvalContext& cx);
std::vector<Candidate> viewer_drop(const EvalContext& cx);
std::vector<Candidate> viewer_spike(const EvalContext& cx);
std::vector<Candidate> low_bitrate(const EvalContext& cx);
std::vector<Candidate> dropped_frames(const EvalContext& cx);
std::vector<Candidate> stale(const EvalContext& cx);

// Agent rules: one candidate per agent the rule's match selects, keyed on the agent
// (poll_errors: one per agent and source).
std::vector<Candidate> agent_offline(const EvalContext& cx);
std::vector<Candidate> poll_errors(const EvalContext& cx);
std::vector<Candidate> backlog(const EvalContext& cx);

// Collector rules: exactly one candidate, keyed on the collector id.
std::vector<Candidate> ingest_errors(const EvalContext& cx);
std::vector<Candidate> write_latency(const EvalContext& cx);
std::vector<Candidate> postgres_down(const EvalContext& cx);
std::vector<Candidate> memory(const EvalContext& cx);
std::vector<Candidate> default_partition(const EvalContext& cx);
std::vector<Candidate> missing_partition(const EvalContext& cx);

// One candidate per entry of `tracked` (a map of name to history) that `identify(name,
// history, candidate)` selects: it sets the candidate's key and labels and returns true, or
// returns false to skip the entry. `judge(name, history, candidate)` then decides it.
template <typename Map, typename Identify, typename Judge>
std::vector<Candidate> candidate_per_entry(const Map& tracked, Identify identify, Judge judge) {
  std::vector<Candidate> out;
  for (const auto& [name, history] : tracked) {
    Candidate e;
    if (!identify(name, history, e)) continue;
    judge(name, history, e);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace streamtrack::collector::alerts::evaluators
