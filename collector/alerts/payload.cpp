#include "collector/alerts/payload.hpp"

#include <nlohmann/json.hpp>

#include "common/util/duration.hpp"

namespace streamtrack::collector::alerts {

namespace {

using nlohmann::json;
using std::chrono::milliseconds;

std::optional<milliseconds> duration_of(const Alert& a) {
  if (!a.fired_at || !a.resolved_at) return std::nullopt;
  return std::chrono::duration_cast<milliseconds>(*a.resolved_at - *a.fired_at);
}

}  // namespace

std::string alert_json(const Notification& n) {
  const auto& a = n.alert;
  json j;
  j["schema"] = 1;
  j["event"] = std::string(event_name(n.event));
  j["rule"] = a.rule;
  j["key"] = a.key;
  j["state"] = std::string(state_name(a.state));
  j["severity"] = a.severity;
  j["labels"] = a.labels;
  j["summary"] = a.summary;
  if (a.value && std::isfinite(*a.value)) j["value"] = *a.value;
  if (a.labels.count("rule") && a.labels.at("rule") != "went_live" &&
      a.labels.at("rule") != "went_offline" && a.labels.at("rule") != "stale" &&
      a.labels.at("rule") != "agent_offline" && a.labels.at("rule") != "postgres_down") {
    j["threshold"] = a.threshold;
  }
  j["active_since"] = format_rfc3339(a.active_since);
  if (a.fired_at) j["fired_at"] = format_rfc3339(*a.fired_at);
  if (a.resolved_at) j["resolved_at"] = format_rfc3339(*a.resolved_at);
  if (const auto d = duration_of(a)) {
    j["duration_s"] = static_cast<double>(d->count()) / 1000.0;
  }
  j["collector"] = n.collector;
  j["ts"] = format_rfc3339(n.at);
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string alertmanager_json(const Notification& n, milliseconds hold) {
  const auto& a = n.alert;
  json alert;
  alert["labels"] = a.labels;
  json annotations;
  annotations["summary"] = a.summary;
  if (a.value)
    annotations["value"] = json(*a.value).dump(-1, ' ', false, json::error_handler_t::replace);
  annotations["collector"] = n.collector;
  alert["annotations"] = annotations;
  alert["startsAt"] = format_rfc3339(a.fired_at.value_or(a.active_since));
  alert["endsAt"] =
      format_rfc3339(n.event == Event::resolved && a.resolved_at ? *a.resolved_at : n.at + hold);
  alert["generatorURL"] = "streamtrack://collector/" + n.collector + "/alerts/" + a.id();
  return json::array({alert}).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string chat_text(const Notification& n) {
  const auto& a = n.alert;
  std::string text = n.event == Event::resolved ? "[RESOLVED] " : "[FIRING] ";
  text += a.rule + " (" + a.severity + ") " + a.summary;
  if (n.event == Event::repeat) text += " (still firing)";
  if (const auto d = duration_of(a)) text += " after " + format_duration(*d);
  return text;
}

namespace {

// Slack mentions are <!everyone>, <!channel>, <@U123>: with &, < and > escaped as Slack asks,
// no channel or agent name can form one.
std::string slack_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Discord mentions are @everyone, @here, <@id>, <@&role>: a zero-width space after each '@'
// breaks them (and allowed_mentions turns mention parsing off as well).
std::string discord_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    out += c;
    if (c == '@') out += "\u200b";
  }
  return out;
}

}  // namespace

std::string chat_json(const Notification& n) {
  const auto text = chat_text(n);
  json body{{"text", slack_escape(text)},
            {"content", discord_escape(text)},
            {"allowed_mentions", {{"parse", json::array()}}}};
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace streamtrack::collector::alerts
