#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "collector/alerts/alert.hpp"
#include "collector/alerts/history.hpp"
#include "collector/alerts/rule.hpp"

// The contract between the engine and the per-kind evaluators of rule.cpp's table: an evaluator
// reads what was observed and returns one candidate per key its rule watches; the engine runs
// each candidate through the alert lifecycle.
namespace streamtrack::collector::alerts {

// One key's verdict for one rule at one tick.
struct Candidate {
  std::vector<std::string> key;
  std::map<std::string, std::string> labels;  // the key's labels (platform, channel, agent, ...)
  bool known = false;  // false: nothing to judge by, the key's alert keeps its state
  bool on = false;
  std::optional<double> value;
  std::string summary;
};

struct EvalContext {
  const Rule& rule;
  const History& seen;
  const std::map<std::string, Alert>& open;  // open alerts by alert_id()
  const std::string& collector;
  TimePoint now;

  // The open alert of this rule for `key`, or null.
  const Alert* open_alert(const std::vector<std::string>& key) const;
  // The rule's comparison, with hysteresis: an `active` alert compares with resolve_threshold.
  bool exceeds(double value, bool active) const;
  // Sets the candidate's value, and when there is one, known and on (against the threshold,
  // with hysteresis when the key's alert is open).
  void judge(Candidate& c, std::optional<double> value) const;
};

}  // namespace streamtrack::collector::alerts
