#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/util/time.hpp"

namespace streamtrack::collector::alerts {

enum class AlertState { pending, firing, resolved };

std::string_view state_name(AlertState state);

// One alert: one rule applied to one key (a channel, an agent, an agent's source, the
// collector). The unit of deduplication, persistence and notification.
struct Alert {
  std::string rule;              // the rule's name
  std::vector<std::string> key;  // e.g. {platform, channel}
  std::string severity;
  std::map<std::string, std::string> labels;  // alertname, severity, key labels, rule labels
  std::string summary;                        // one human line
  AlertState state = AlertState::pending;
  std::optional<double> value;  // the last evaluated value (thresholded rules)
  double threshold = 0;

  TimePoint active_since{};                // condition first held (start of pending)
  std::optional<TimePoint> fired_at;       // became firing
  std::optional<TimePoint> cleared_since;  // firing, condition cleared (keep_firing_for runs)
  std::optional<TimePoint> resolved_at;
  std::optional<TimePoint> last_notified;  // last firing/repeat notification sent
  bool firing_sent = false;                // a firing notification went out for this episode
  bool inhibited = false;                  // held back by an agent_offline alert

  // alert_id(rule, key).
  std::string id() const;
};

// "<escaped rule>/<alert_key_id(key)>": an alert's stable identity across restarts.
std::string alert_id(std::string_view rule, const std::vector<std::string>& key);
// The key's part of alert_id: the escaped key parts joined by '/' (the alerts.alert_key
// column, next to the rule).
std::string alert_key_id(const std::vector<std::string>& key);

enum class Event { firing, repeat, resolved };
std::string_view event_name(Event e);

// What sinks deliver: one transition (or reminder) of one alert.
struct Notification {
  Event event = Event::firing;
  Alert alert;  // state after the transition
  TimePoint at{};
  std::string collector;  // the collector that sent it
  // Set only on the resolution of an alert whose rule a reload removed (or gave another kind):
  // the webhooks that rule named (empty: every one), since the running rules no longer do.
  std::optional<std::vector<std::string>> retired_webhooks;
};

}  // namespace streamtrack::collector::alerts
