#include "common/config/mqtt_settings.hpp"

#include <charconv>

#include "common/wire/topics.hpp"

namespace streamtrack::config {

const TableSpec& mqtt_base_spec() {
  static const TableSpec spec{{
      {.name = "url",
       .default_value = std::string("mqtt://127.0.0.1:1883"),
       .description = "Broker address: mqtt://host[:port] or mqtts://host[:port] (TLS).",
       .example_active = true},
      {.name = "topic_prefix",
       .default_value = std::string(wire::k_default_topic_root),
       .description = "Root of every StreamTrack topic (docs/mqtt.md).",
       .example_active = true},
      {.name = "username",
       .description = "User name for the broker, if it requires one.",
       .example = "\"streamtrack\""},
      {.name = "password_file",
       .description = "File holding the broker password (or credential \"mqtt-password\").",
       .example = "\"/etc/streamtrack/mqtt.password\""},
      {.name = "protocol",
       .default_value = std::string("3.1.1"),
       .description = "MQTT protocol version.",
       .one_of = {"3.1.1", "5"}},
      {.name = "keepalive",
       .type = ValueType::duration,
       .default_value = std::string("30s"),
       .description = "MQTT keep-alive interval.",
       .min = 1000,
       .max = 65535000},
      {.name = "connect_timeout",
       .type = ValueType::duration,
       .default_value = std::string("10s"),
       .description = "Give up a connection attempt after this long.",
       .min = 100},
      {.name = "reconnect_min",
       .type = ValueType::duration,
       .default_value = std::string("1s"),
       .description = "First reconnect delay; doubles (with jitter) up to reconnect_max.",
       .min = 10},
      {.name = "reconnect_max",
       .type = ValueType::duration,
       .default_value = std::string("30s"),
       .description = "Longest reconnect delay.",
       .min = 10},
      {.name = "ca_file",
       .description = "mqtts: CA certificates (PEM) to verify the broker.",
       .example = "\"/etc/ssl/certs/ca-certificates.crt\""},
      {.name = "cert_file",
       .description = "mqtts: client certificate (PEM).",
       .example = "\"/etc/streamtrack/client.crt\""},
      {.name = "key_file",
       .description = "mqtts: client private key (PEM).",
       .example = "\"/etc/streamtrack/client.key\""},
      {.name = "verify_hostname",
       .type = ValueType::boolean,
       .default_value = true,
       .description = "mqtts: check that the broker certificate names the host."},
  }};
  return spec;
}

MqttSettings read_mqtt_settings(const Section& mqtt, Diagnostics& diag) {
  MqttSettings s;
  s.url = mqtt.string("url");
  const auto bad_url = [&](const std::string& why) {
    diag.error(mqtt.position("url"), mqtt.context(), "url", why + ", got \"" + s.url + "\"");
  };
  const auto scheme_end = s.url.find("://");
  const std::string scheme = scheme_end == std::string::npos ? "" : s.url.substr(0, scheme_end);
  if (scheme == "mqtt" || scheme == "tcp") {
    s.tls = false;
    s.port = 1883;
  } else if (scheme == "mqtts" || scheme == "ssl") {
    s.tls = true;
    s.port = 8883;
  } else {
    bad_url("expected mqtt://host[:port] or mqtts://host[:port]");
  }
  if (scheme_end != std::string::npos) {
    std::string rest = s.url.substr(scheme_end + 3);
    if (!rest.empty() && rest.back() == '/') rest.pop_back();
    std::string host = rest;
    if (!rest.empty() && rest.front() == '[') {  // [IPv6]:port
      const auto close = rest.find(']');
      host = rest.substr(0, close == std::string::npos ? rest.size() : close + 1);
      rest = close == std::string::npos ? "" : rest.substr(close + 1);
    } else {
      const auto colon = rest.rfind(':');
      host = rest.substr(0, colon);
      rest = colon == std::string::npos ? "" : rest.substr(colon);
    }
    if (!rest.empty()) {
      unsigned port = 0;
      const auto* first = rest.data() + 1;
      const auto* last = rest.data() + rest.size();
      const auto [ptr, ec] = std::from_chars(first, last, port);
      if (rest.front() != ':' || ec != std::errc{} || ptr != last || port == 0 || port > 65535) {
        bad_url("invalid port");
      } else {
        s.port = static_cast<std::uint16_t>(port);
      }
    }
    if (host.empty() || host.find_first_of("/?@ ") != std::string::npos) {
      bad_url("invalid host");
    }
    s.host = host;
  }
  s.topic_prefix = mqtt.string("topic_prefix");
  if (auto why = wire::check_topic_root(s.topic_prefix)) {
    diag.error(mqtt.position("topic_prefix"), mqtt.context(), "topic_prefix", *why);
  }
  s.username = mqtt.optional_string("username");
  s.password = read_secret(mqtt, "password_file", "mqtt-password", diag);
  s.protocol_version = mqtt.string("protocol") == "5" ? 5 : 4;
  s.keepalive = mqtt.duration("keepalive");
  s.connect_timeout = mqtt.duration("connect_timeout");
  s.reconnect_min = mqtt.duration("reconnect_min");
  s.reconnect_max = mqtt.duration("reconnect_max");
  if (s.reconnect_max < s.reconnect_min) {
    diag.error(mqtt.position("reconnect_max"), mqtt.context(), "reconnect_max",
               "must not be shorter than reconnect_min");
  }
  s.ca_file = mqtt.optional_string("ca_file");
  s.cert_file = mqtt.optional_string("cert_file");
  s.key_file = mqtt.optional_string("key_file");
  s.verify_hostname = mqtt.boolean("verify_hostname");
  if (!s.tls) {
    for (const char* key : {"ca_file", "cert_file", "key_file"}) {
      if (mqtt.has(key)) {
        diag.error(mqtt.position(key), mqtt.context(), key, "only applies to mqtts:// URLs");
      }
    }
  }
  if (s.cert_file.has_value() != s.key_file.has_value()) {
    diag.error(mqtt.position(s.cert_file ? "cert_file" : "key_file"), mqtt.context(),
               s.cert_file ? "key_file" : "cert_file",
               "cert_file and key_file must be given together");
  }
  return s;
}

}  // namespace streamtrack::config
