#pragma once

#include <vector>

#include "collector/alerts/evaluation.hpp"

// Evaluators of the agent rules: one candidate per agent the rule's match selects, keyed on
// the agent (poll_errors: one per agent and source).
namespace streamtrack::collector::alerts::evaluators {

std::vector<Candidate> agent_offline(const EvalContext& cx);
std::vector<Candidate> poll_errors(const EvalContext& cx);
std::vector<Candidate> backlog(const EvalContext& cx);

}  // namespace streamtrack::collector::alerts::evaluators
