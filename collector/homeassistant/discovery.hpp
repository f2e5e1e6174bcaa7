#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "collector/ingest/item.hpp"
#include "collector/store/store.hpp"
#include "common/util/time.hpp"
#include "common/wire/topics.hpp"

// Home Assistant MQTT discovery (opt-in, [homeassistant] in collector.toml; docs/integrations.md).
// Per channel one device with a `binary_sensor` (live) and two `sensor`s (viewers, chat per
// minute), all reading the committed retained live topic <root>/live/<platform>/<channel>; per
// agent one device with a connectivity `binary_sensor` reading <root>/<agent>/status. Configs
// are retained on <prefix>/<component>/<node id>/<object id>/config; a channel no collector
// committed for `forget_after` and an agent whose retained status was cleared get an empty
// retained config, which removes them from Home Assistant.
namespace streamtrack::collector::homeassistant {

struct Options {
  std::string prefix = "homeassistant";  // Home Assistant's discovery_prefix
  std::chrono::milliseconds forget_after{std::chrono::hours(24 * 7)};
  // Devices learned from the broker (retained configs, agent statuses) are remembered only
  // while fewer than this many are known: anyone allowed to publish there could add them.
  std::size_t max_devices = 10'000;
};

struct Message {
  std::string topic;
  std::string payload;  // empty: removes the entity
  bool retained = true;
};

// The node id of this installation: "streamtrack-" and a hash of the topic root, so that two
// installations sharing a broker never touch each other's entities.
std::string node_id(const wire::Topics& topics);

// What to publish so Home Assistant shows the channel (three configs) or the agent (one).
std::vector<Message> channel_configs(const wire::Topics& topics, const Options& options,
                                     const std::string& platform, const std::string& channel);
std::vector<Message> agent_configs(const wire::Topics& topics, const Options& options,
                                   const std::string& agent);

// The filter matching every config topic of this installation (so a restarted collector learns
// what is announced, and can remove it later).
std::string config_filter(const wire::Topics& topics, const Options& options);

// Which entities are announced, as of the retained configs and this collector's commits. Thread
// safe: writers report commits, Paho's thread reports status and config messages, and the main
// loop takes the messages to send (it is the only one that publishes).
class Discovery {
 public:
  Discovery(const wire::Topics& topics, Options options);

  // A batch committed: announces channels not announced yet and refreshes the others.
  void committed(const std::vector<ingest::Item>& batch, TimePoint now);
  // An agent's status topic carried `payload` (empty: its retained status was cleared). A new
  // agent is announced only while fewer than max_devices are known.
  void agent_status(const std::string& agent, const std::string& payload);
  // A message on config_filter(): a config already announced (by this or another collector,
  // maybe before a restart) is remembered by its topic (never its payload, which anyone may
  // have published), an empty one forgotten. Only the object ids this collector makes
  // (ch-<16 hex>-{live,viewers,chat}, agent-<16 hex>-connected, each under its component) are
  // remembered, and only while fewer than max_devices are known; other topics under our node
  // are consumed and ignored. Returns false for a topic that is not under our node.
  bool config_seen(const std::string& topic, const std::string& payload, TimePoint now);
  // After a reconnect: announce again what is known (the broker may have lost retained state).
  void reconnected();

  // The messages to publish now, including removals of channels silent for forget_after.
  std::vector<Message> take(TimePoint now);
  // Puts back messages the client did not take (not connected), to send first next time.
  void put_back(std::vector<Message> messages);

 private:
  struct Device {
    std::vector<Message> configs;  // what announces it, made here (empty: only seen retained)
    std::vector<std::string> retained_topics;  // its config topics seen on the broker (<= 3)
    TimePoint last_seen{};
    bool announced = false;
    // Channels and agents known only from retained configs expire; an agent whose status was
    // seen leaves only when its status is cleared.
    bool removable = true;
  };
  void remove(const Device& d);
  void queue_configs(Device& d);

  const wire::Topics& m_topics;
  const Options m_options;
  mutable std::mutex m_mutex;
  std::map<std::string, Device> m_devices;  // by device key (config topic prefix)
  std::vector<Message> m_pending;
};

// A Store that tells `discovery` about every batch its inner store committed.
class DiscoveryStore final : public store::Store {
 public:
  DiscoveryStore(store::Store& inner, Discovery& discovery, const Clock& clock)
      : m_inner(inner), m_discovery(discovery), m_clock(clock) {}
  store::WriteOutcome write(const std::vector<ingest::Item>& batch) override;

 private:
  store::Store& m_inner;
  Discovery& m_discovery;
  const Clock& m_clock;
};

}  // namespace streamtrack::collector::homeassistant
