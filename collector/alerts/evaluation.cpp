#include "collector/alerts/evaluation.hpp"

namespace streamtrack::collector::alerts {

const Alert* EvalContext::open_alert(const std::vector<std::string>& key) const {
  const auto it = open.find(alert_id(rule.name, key));
  return it == open.end() ? nullptr : &it->second;
}

bool EvalContext::exceeds(double value, bool active) const {
  const double limit = active ? rule.resolve_threshold : rule.threshold;
  return direction_of(rule.kind) == Direction::below ? value < limit : value > limit;
}

void EvalContext::judge(Candidate& c, std::optional<double> value) const {
  c.value = value;
  c.known = value.has_value();
  if (value) c.on = exceeds(*value, open_alert(c.key) != nullptr);
}

}  // namespace streamtrack::collector::alerts
