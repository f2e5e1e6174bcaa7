#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

// MQTT topic layout from docs/mqtt.md. Every name placed in a topic goes through
// escape_segment, so that no agent, platform, channel or rule name can add a level or form a
// wildcard.
namespace streamtrack::wire {

inline constexpr std::string_view k_default_topic_root = "streamtrack/v1";

// Makes any byte string one valid MQTT topic level: percent-encodes (as %XX, upper-case hex,
// byte by byte) '%', '/', '+', '#', every byte that is not part of valid UTF-8, and the code
// points a topic must not carry (C0 and C1 controls, DEL, non-characters); an empty name
// becomes "%" alone, which no non-empty name can produce. Injective: unescape_segment inverts
// it.
std::string escape_segment(std::string_view name);

// Inverse of escape_segment; nullopt when `segment` is not exactly what escape_segment makes
// of some name.
std::optional<std::string> unescape_segment(std::string_view segment);

// Why `root` cannot be a topic root, or nullopt when it can: non-empty, no wildcards, no
// empty levels, no leading or trailing '/', no leading '$'.
std::optional<std::string> check_topic_root(std::string_view root);

enum class TopicKind { metrics, frames, status, health, ack, alert };

// A topic split back into its parts (names unescaped).
struct ParsedTopic {
  TopicKind kind;
  std::string agent;               // metrics, frames, status, health, ack
  std::string platform;            // metrics
  std::string channel;             // metrics
  std::vector<std::string> alert;  // alert: rule followed by key parts
};

class Topics {
 public:
  // Precondition: check_topic_root(root) is nullopt.
  explicit Topics(std::string root = std::string(k_default_topic_root));

  const std::string& root() const { return m_root; }

  std::string metrics(std::string_view agent, std::string_view platform,
                      std::string_view channel) const;
  // <root>/<agent>/frames: an agent's frames (wire/frame.hpp). Not under metrics/, so that
  // subscribers to samples per platform or channel never receive one.
  std::string frames(std::string_view agent) const;
  std::string status(std::string_view agent) const;
  std::string health(std::string_view agent) const;
  std::string ack(std::string_view agent) const;
  // <root>/collectors/status/<collector>: a collector's retained status and Last Will. No
  // collector subscription (metrics, status, health of agents) matches it, whatever the id.
  std::string collector_status(std::string_view collector) const;
  // <root>/alerts/<rule>/<key part>/...
  std::string alert(std::string_view rule, const std::vector<std::string>& key) const;

  // Subscription filters for the collector.
  std::string all_metrics_filter() const;  // <root>/+/metrics/#
  std::string all_frames_filter() const;   // <root>/+/frames
  std::string all_status_filter() const;   // <root>/+/status
  std::string all_health_filter() const;   // <root>/+/health

  // Splits a topic under this root; nullopt for anything that is not one of ours.
  std::optional<ParsedTopic> parse(std::string_view topic) const;

 private:
  std::string m_root;
};

}  // namespace streamtrack::wire
