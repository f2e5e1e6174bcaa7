#pragma once

#include <deque>
#include <functional>
#include <mutex>
#include <string>

#include "collector/alerts/sinks/sink.hpp"
#include "common/wire/topics.hpp"

namespace streamtrack::collector::alerts::sinks {

// Publishes (QoS 1) and answers false when the message could not be queued (not connected).
using Publish =
    std::function<bool(const std::string& topic, const std::string& payload, bool retained)>;

// <root>/alerts/<rule>/<key...>: the alert, retained while firing, cleared (empty retained
// message) on resolve. <root>/alerts/events/<rule>/<key...>: every transition, not retained.
// Messages that cannot be published yet are kept (up to 10000) and sent by flush().
class MqttSink final : public Sink {
 public:
  MqttSink(wire::Topics topics, Publish publish);
  void deliver(const Notification& n) override;
  const std::string& name() const override { return m_name; }
  // Retries what could not be published; returns how many are still waiting.
  std::size_t flush();

  static std::string state_topic(const wire::Topics& topics, const Alert& a);
  static std::string event_topic(const wire::Topics& topics, const Alert& a);

 private:
  struct Pending {
    std::string topic;
    std::string payload;
    bool retained;
  };
  wire::Topics m_topics;
  Publish m_publish;
  std::string m_name = "mqtt";
  std::mutex m_mutex;
  std::deque<Pending> m_pending;
};

}  // namespace streamtrack::collector::alerts::sinks
