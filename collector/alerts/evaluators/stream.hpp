#pragma once

#include <vector>

#include "collector/alerts/evaluation.hpp"

// Evaluators of the stream rules: one candidate per tracked channel the rule's match selects,
// keyed on (platform, channel).
namespace streamtrack::collector::alerts::evaluators {

std::vector<Candidate> went_live(const EvalContext& cx);
std::vector<Candidate> went_offline(const EvalContext& cx);
std::vector<Candidate> viewer_drop(const EvalContext& cx);
std::vector<Candidate> viewer_spike(const EvalContext& cx);
std::vector<Candidate> low_bitrate(const EvalContext& cx);
std::vector<Candidate> dropped_frames(const EvalContext& cx);
std::vector<Candidate> stale(const EvalContext& cx);

}  // namespace streamtrack::collector::alerts::evaluators
