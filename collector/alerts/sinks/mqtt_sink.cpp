#include "collector/alerts/sinks/mqtt_sink.hpp"

#include "collector/alerts/payload.hpp"
#include "common/daemon/log.hpp"

namespace streamtrack::collector::alerts::sinks {

namespace {
constexpr std::size_t k_max_pending = 10'000;
}

MqttSink::MqttSink(wire::Topics topics, Publish publish)
    : m_topics(std::move(topics)), m_publish(std::move(publish)) {}

std::string MqttSink::state_topic(const wire::Topics& topics, const Alert& a) {
  return topics.alert(a.rule, a.key);
}

std::string MqttSink::event_topic(const wire::Topics& topics, const Alert& a) {
  std::vector<std::string> parts{a.rule};
  parts.insert(parts.end(), a.key.begin(), a.key.end());
  return topics.alert("events", parts);
}

void MqttSink::deliver(const Notification& n) {
  const auto payload = alert_json(n);
  {
    std::lock_guard lock(m_mutex);
    m_pending.push_back({state_topic(m_topics, n.alert),
                         n.event == Event::resolved ? std::string() : payload, true});
    m_pending.push_back({event_topic(m_topics, n.alert), payload, false});
    while (m_pending.size() > k_max_pending) {
      log::error("alerts: mqtt backlog full, dropping topic=" +
                 log::quote(m_pending.front().topic));
      m_pending.pop_front();
    }
  }
  flush();
}

std::size_t MqttSink::flush() {
  std::lock_guard lock(m_mutex);
  while (!m_pending.empty()) {
    const auto& p = m_pending.front();
    if (!m_publish(p.topic, p.payload, p.retained)) break;
    m_pending.pop_front();
  }
  return m_pending.size();
}

}  // namespace streamtrack::collector::alerts::sinks
