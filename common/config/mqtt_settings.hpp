#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "common/config/schema.hpp"

namespace streamtrack::config {

// Broker connection settings shared by both daemons ([mqtt]). Each daemon extends the spec
// with its own keys (see agent and collector config).
struct MqttSettings {
  std::string url;  // mqtt://host:port or mqtts://host:port
  std::string host;
  std::uint16_t port = 1883;
  bool tls = false;
  std::string topic_prefix;
  std::optional<std::string> username;
  std::optional<std::string> password;  // from password_file / credentials; never logged
  int protocol_version = 4;             // 4 = MQTT 3.1.1, 5 = MQTT 5
  std::chrono::milliseconds keepalive{30'000};
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds reconnect_min{1'000};
  std::chrono::milliseconds reconnect_max{30'000};
  std::optional<std::string> ca_file;
  std::optional<std::string> cert_file;
  std::optional<std::string> key_file;
  bool verify_hostname = true;
};

const TableSpec& mqtt_base_spec();

// Reads a validated [mqtt] section; URL and topic-prefix problems go to `diag`.
MqttSettings read_mqtt_settings(const Section& mqtt, Diagnostics& diag);

}  // namespace streamtrack::config
