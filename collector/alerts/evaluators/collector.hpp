#pragma once

#include <vector>

#include "collector/alerts/evaluation.hpp"

// Evaluators of the collector rules: exactly one candidate, keyed on the collector id.
namespace streamtrack::collector::alerts::evaluators {

std::vector<Candidate> ingest_errors(const EvalContext& cx);
std::vector<Candidate> write_latency(const EvalContext& cx);
std::vector<Candidate> postgres_down(const EvalContext& cx);
std::vector<Candidate> memory(const EvalContext& cx);
std::vector<Candidate> default_partition(const EvalContext& cx);
std::vector<Candidate> missing_partition(const EvalContext& cx);

}  // namespace streamtrack::collector::alerts::evaluators
