#include "collector/alerts/alert.hpp"

#include <array>

#include "common/wire/topics.hpp"

namespace streamtrack::collector::alerts {

namespace {

// The names of an enum's values, in the enum's order; `Enum` ends with `last`.
template <typename Enum, Enum last, std::size_t N>
std::string_view name_in(const std::array<std::string_view, N>& names, Enum value) {
  static_assert(static_cast<std::size_t>(last) + 1 == N, "one name per enumerator");
  const auto index = static_cast<std::size_t>(value);
  return index < N ? names[index] : names[0];
}

constexpr std::array<std::string_view, 3> k_state_names{"pending", "firing", "resolved"};
constexpr std::array<std::string_view, 3> k_event_names{"firing", "repeat", "resolved"};

}  // namespace

std::string_view state_name(AlertState state) {
  return name_in<AlertState, AlertState::resolved>(k_state_names, state);
}

std::string_view event_name(Event e) {
  return name_in<Event, Event::resolved>(k_event_names, e);
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
