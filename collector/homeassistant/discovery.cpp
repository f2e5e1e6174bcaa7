#include "collector/homeassistant/discovery.hpp"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "collector/live/live_publisher.hpp"
#include "common/version.hpp"

namespace streamtrack::collector::homeassistant {

using nlohmann::json;

namespace {

// FNV-1a, 64 bits: a stable id (Home Assistant allows only [a-zA-Z0-9_-] in topic ids, and
// channel names may hold anything).
std::string hash_hex(const std::vector<std::string>& parts) {
  std::uint64_t h = 14695981039346656037ull;
  for (const auto& part : parts) {
    for (const char c : part) {
      h ^= static_cast<unsigned char>(c);
      h *= 1099511628211ull;
    }
    h ^= 0xff;  // separator no byte of UTF-8 text can be: ("ab","c") differs from ("a","bc")
    h *= 1099511628211ull;
  }
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
  return out;
}

std::string channel_base(const wire::Topics& topics, const std::string& platform,
                         const std::string& channel) {
  return "ch-" + hash_hex({topics.root(), platform, channel});
}

std::string agent_base(const wire::Topics& topics, const std::string& agent) {
  return "agent-" + hash_hex({topics.root(), agent});
}

std::string config_topic(const wire::Topics& topics, const Options& o, const std::string& component,
                         const std::string& object_id) {
  return o.prefix + "/" + component + "/" + node_id(topics) + "/" + object_id + "/config";
}

json origin() {
  return {{"name", "StreamTrack"}, {"sw_version", k_version}};
}

// Templates hold no name from a source: a channel or agent name only ever reaches Home
// Assistant as JSON string data (device name), never as template text.
Message entity(const wire::Topics& topics, const Options& o, const std::string& component,
               const std::string& base, const std::string& suffix, json config, json device) {
  const auto object_id = base + "-" + suffix;
  config["unique_id"] = node_id(topics) + "-" + object_id;
  config["device"] = std::move(device);
  config["origin"] = origin();
  config["qos"] = 1;
  return {config_topic(topics, o, component, object_id),
          config.dump(-1, ' ', false, json::error_handler_t::replace), true};
}

bool is_hash(std::string_view s) {
  if (s.size() != 16) return false;
  for (const char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// The device part of an object id this collector makes under `component` (see entity()), or
// nothing for any other.
std::optional<std::string> our_device(std::string_view component, std::string_view object_id) {
  struct Form {
    std::string_view kind, suffix, component;
  };
  static constexpr Form k_forms[] = {{"ch-", "-live", "binary_sensor"},
                                     {"ch-", "-viewers", "sensor"},
                                     {"ch-", "-chat", "sensor"},
                                     {"agent-", "-connected", "binary_sensor"}};
  for (const auto& f : k_forms) {
    if (component != f.component || object_id.size() != f.kind.size() + 16 + f.suffix.size() ||
        !object_id.starts_with(f.kind) || !object_id.ends_with(f.suffix)) {
      continue;
    }
    if (is_hash(object_id.substr(f.kind.size(), 16))) {
      return std::string(object_id.substr(0, f.kind.size() + 16));
    }
  }
  return std::nullopt;
}

}  // namespace

std::string node_id(const wire::Topics& topics) {
  return "streamtrack-" + hash_hex({topics.root()}).substr(0, 8);
}

std::string config_filter(const wire::Topics& topics, const Options& options) {
  return options.prefix + "/+/" + node_id(topics) + "/+/config";
}

std::vector<Message> channel_configs(const wire::Topics& topics, const Options& o,
                                     const std::string& platform, const std::string& channel) {
  const auto base = channel_base(topics, platform, channel);
  const auto state = live::live_topic(topics, platform, channel);
  const json device{{"identifiers", json::array({node_id(topics) + "-" + base})},
                    {"name", platform + " " + channel},
                    {"manufacturer", "StreamTrack"},
                    {"model", platform + " channel"},
                    {"sw_version", k_version}};
  return {
      entity(topics, o, "binary_sensor", base, "live",
             {{"name", "Live"},
              {"state_topic", state},
              {"value_template", "{{ 'ON' if value_json.live else 'OFF' }}"},
              {"payload_on", "ON"},
              {"payload_off", "OFF"},
              {"json_attributes_topic", state},
              {"icon", "mdi:broadcast"}},
             device),
      entity(topics, o, "sensor", base, "viewers",
             {{"name", "Viewers"},
              {"state_topic", state},
              {"value_template", "{{ value_json.viewers }}"},
              {"unit_of_measurement", "viewers"},
              {"state_class", "measurement"},
              {"icon", "mdi:account-eye"}},
             device),
      entity(topics, o, "sensor", base, "chat",
             {{"name", "Chat per minute"},
              {"state_topic", state},
              {"value_template", "{{ value_json.chat_per_minute }}"},
              {"unit_of_measurement", "msg/min"},
              {"state_class", "measurement"},
              {"icon", "mdi:chat"}},
             device),
  };
}

std::vector<Message> agent_configs(const wire::Topics& topics, const Options& o,
                                   const std::string& agent) {
  const auto base = agent_base(topics, agent);
  const json device{{"identifiers", json::array({node_id(topics) + "-" + base})},
                    {"name", "StreamTrack agent " + agent},
                    {"manufacturer", "StreamTrack"},
                    {"model", "streamtrack-agent"}};
  return {entity(topics, o, "binary_sensor", base, "connected",
                 {{"name", "Connected"},
                  {"state_topic", topics.status(agent)},
                  {"value_template", "{{ 'ON' if value_json.state == 'online' else 'OFF' }}"},
                  {"payload_on", "ON"},
                  {"payload_off", "OFF"},
                  {"device_class", "connectivity"}},
                 device)};
}

Discovery::Discovery(const wire::Topics& topics, Options options)
    : m_topics(topics), m_options(std::move(options)) {}

void Discovery::queue_configs(Device& d) {
  for (const auto& m : d.configs) m_pending.push_back(m);
  d.announced = true;
}

void Discovery::committed(const std::vector<ingest::Item>& batch, TimePoint now) {
  std::lock_guard lock(m_mutex);
  for (const auto& item : batch) {
    if (item.kind != ingest::Item::Kind::sample || !item.sample) continue;
    const auto& s = *item.sample;
    auto& d = m_devices[channel_base(m_topics, s.platform, s.channel)];
    d.last_seen = std::max(d.last_seen, now);
    d.removable = true;
    if (d.configs.empty()) d.configs = channel_configs(m_topics, m_options, s.platform, s.channel);
    if (!d.announced) queue_configs(d);
  }
}

void Discovery::agent_status(const std::string& agent, const std::string& payload) {
  std::lock_guard lock(m_mutex);
  const auto base = agent_base(m_topics, agent);
  auto it = m_devices.find(base);
  if (payload.empty()) {
    if (it == m_devices.end()) return;
    remove(it->second);
    m_devices.erase(it);
    return;
  }
  if (it == m_devices.end()) {
    if (m_devices.size() >= m_options.max_devices) return;
    it = m_devices.emplace(base, Device{}).first;
  }
  auto& d = it->second;
  d.removable = false;
  if (d.configs.empty()) d.configs = agent_configs(m_topics, m_options, agent);
  if (!d.announced) queue_configs(d);
}

bool Discovery::config_seen(const std::string& topic, const std::string& payload, TimePoint now) {
  // <prefix>/<component>/<node>/<object id>/config
  const auto head = m_options.prefix + "/";
  const auto node = "/" + node_id(m_topics) + "/";
  if (topic.rfind(head, 0) != 0 || topic.size() < 7 ||
      topic.compare(topic.size() - 7, 7, "/config") != 0) {
    return false;
  }
  const auto node_at = topic.find(node, head.size());
  if (node_at == std::string::npos) return false;
  const auto component = std::string_view(topic).substr(head.size(), node_at - head.size());
  const auto object_id = std::string_view(topic).substr(node_at + node.size(),
                                                        topic.size() - 7 - node_at - node.size());
  const auto base = our_device(component, object_id);
  if (!base) return true;
  std::lock_guard lock(m_mutex);
  auto it = m_devices.find(*base);
  if (payload.empty()) {
    // Removed (by another collector, or an operator): announce again on the next commit.
    if (it != m_devices.end()) {
      it->second.announced = false;
      std::erase(it->second.retained_topics, topic);
    }
    return true;
  }
  if (it == m_devices.end()) {
    // Announced before this collector started: expires unless a commit or status refreshes it.
    if (m_devices.size() >= m_options.max_devices) return true;
    it = m_devices.emplace(*base, Device{}).first;
    it->second.last_seen = now;
  }
  auto& d = it->second;
  d.announced = true;
  if (std::find(d.retained_topics.begin(), d.retained_topics.end(), topic) ==
      d.retained_topics.end()) {
    d.retained_topics.push_back(topic);
  }
  return true;
}

void Discovery::remove(const Device& d) {
  std::vector<std::string> topics;
  for (const auto& m : d.configs) topics.push_back(m.topic);
  for (const auto& t : d.retained_topics) {
    if (std::find(topics.begin(), topics.end(), t) == topics.end()) topics.push_back(t);
  }
  for (auto& t : topics) m_pending.push_back({std::move(t), "", true});
}

void Discovery::reconnected() {
  std::lock_guard lock(m_mutex);
  for (auto& [base, d] : m_devices) {
    if (d.announced) queue_configs(d);
  }
}

std::vector<Message> Discovery::take(TimePoint now) {
  std::lock_guard lock(m_mutex);
  for (auto it = m_devices.begin(); it != m_devices.end();) {
    const auto& d = it->second;
    if (d.removable && m_options.forget_after.count() > 0 &&
        now - d.last_seen > m_options.forget_after) {
      remove(d);
      it = m_devices.erase(it);
    } else {
      ++it;
    }
  }
  std::vector<Message> out;
  out.swap(m_pending);
  return out;
}

void Discovery::put_back(std::vector<Message> messages) {
  std::lock_guard lock(m_mutex);
  messages.insert(messages.end(), std::make_move_iterator(m_pending.begin()),
                  std::make_move_iterator(m_pending.end()));
  m_pending = std::move(messages);
}

store::WriteOutcome DiscoveryStore::write(const std::vector<ingest::Item>& batch) {
  auto outcome = m_inner.write(batch);
  if (outcome.status == Outcome::ok) m_discovery.committed(batch, m_clock.now());
  return outcome;
}

}  // namespace streamtrack::collector::homeassistant
