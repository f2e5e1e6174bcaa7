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

std::string alert_id(std::string_view rule, const std::vector<std::string>& key) {
  std::string out = wire::escape_segment(rule);
  for (const auto& k : key) out += "/" + wire::escape_segment(k);
  return out;
}

std::string Alert::id() const {
  return alert_id(rule, key);
}

}  // namespace streamtrack::collector::alerts
