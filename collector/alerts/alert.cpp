#include "collector/alerts/alert.hpp"

#include "common/wire/topics.hpp"

namespace streamtrack::collector::alerts {

std::string_view state_name(AlertState state) {
  switch (state) {
    case AlertState::pending:
      return "pending";
    case AlertState::firing:
      return "firing";
    case AlertState::resolved:
      return "resolved";
  }
  return "pending";
}

std::string_view event_name(Event e) {
  switch (e) {
    case Event::firing:
      return "firing";
    case Event::repeat:
      return "repeat";
    case Event::resolved:
      return "resolved";
  }
  return "firing";
}

std::string alert_key_id(const std::vector<std::string>& key) {
  std::string out;
  for (std::size_t i = 0; i < key.size(); ++i) {
    if (i > 0) out += '/';
    out += wire::escape_segment(key[i]);
  }
  return out;
}

std::string alert_id(std::string_view rule, const std::vector<std::string>& key) {
  const auto rule_id = wire::escape_segment(rule);
  return key.empty() ? rule_id : rule_id + "/" + alert_key_id(key);
}

std::string Alert::id() const {
  return alert_id(rule, key);
}

}  // namespace streamtrack::collector::alerts
