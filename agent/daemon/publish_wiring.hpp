#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "agent/config/agent_config.hpp"
#include "agent/outbox/outbox.hpp"
#include "agent/publish/publisher.hpp"
#include "common/mqtt/loop_client.hpp"
#include "common/wire/codec.hpp"
#include "common/wire/topics.hpp"

// How the daemon connects the publisher to the outbox and to the MQTT client.
namespace streamtrack::agent {

// The publisher's rows: the outbox.
class OutboxRows final : public publish::RowSource {
 public:
  explicit OutboxRows(outbox::Outbox& outbox) : m_outbox(outbox) {}
  Result<std::vector<outbox::Row>> read(std::int64_t from, std::int64_t before,
                                        std::size_t limit) override {
    return m_outbox.read(from, before, limit);
  }
  std::int64_t last_seq() const override { return m_outbox.last_seq(); }
  bool quarantine(std::int64_t seq, const std::string& reason) override {
    return m_outbox.quarantine(seq, reason);
  }

 private:
  outbox::Outbox& m_outbox;
};

// The publisher's transport: the MQTT client.
class ClientTransport final : public publish::Transport {
 public:
  explicit ClientTransport(mqtt::LoopClient& client) : m_client(client) {}
  mqtt::PublishResult publish(const mqtt::Message& message) override {
    return m_client.publish_checked(message);
  }

 private:
  mqtt::LoopClient& m_client;
};

// The agent's MQTT session: its id, a persistent session (started clean after three quick
// drops in a row), the offline status as Last Will, the publish window, and the ack
// subscription when delivery is committed.
inline mqtt::ClientOptions client_options(const AgentConfig& config, const wire::Topics& topics) {
  mqtt::ClientOptions o;
  o.settings = config.mqtt;
  o.client_id = config.id;
  o.clean_session = false;
  // The outbox sends again whatever was in flight; a clean session costs only the acks
  // the broker queued (those samples are published again after ack_timeout).
  o.clean_start_after_quick_drops = true;
  o.will = mqtt::Message{topics.status(config.id),
                         wire::encode_status(wire::Status{.state = "offline"}), 1, true};
  o.max_inflight = config.max_inflight;
  if (config.delivery == Delivery::committed) o.subscriptions = {topics.ack(config.id)};
  return o;
}

// Whether a frame that never reaches a collector would be noticed. Frames go only where the
// collector's ack is the proof of delivery (committed delivery: no ack, so the samples are sent
// again alone after ack_timeout). In broker delivery a PUBACK releases the samples, and a broker
// answers PUBACK for a frame nobody reads (a collector whose ACL lacks `<root>/+/frames`, or an
// older collector) and, under MQTT 3.1.1, even for one its ACL refuses: a whole backlog would be
// lost without a trace.
inline bool frames_are_safe(const AgentConfig& config) {
  return config.delivery == Delivery::committed;
}

// The window, the delivery mode, and frames for the backlog (<root>/<id>/frames).
inline publish::Options publisher_options(const AgentConfig& config) {
  publish::Options o;
  o.max_inflight = static_cast<std::size_t>(config.max_inflight);
  o.delivery = config.delivery;
  o.ack_timeout = config.ack_timeout;
  o.agent = config.id;
  o.frame_topic = wire::Topics(config.mqtt.topic_prefix).frames(config.id);
  o.max_frame_samples = frames_are_safe(config) ? config.max_frame_samples : 0;
  o.max_frame_bytes = config.max_frame_bytes;
  return o;
}

}  // namespace streamtrack::agent
