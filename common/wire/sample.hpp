#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/util/time.hpp"

namespace streamtrack {

// One observation of one channel, as taken by an agent. This is the unit that flows from a
// source through the outbox, over MQTT, into livestream_metrics. Every optional field is
// absent when the source does not know it; absent never means zero.
struct Sample {
  static constexpr int k_schema = 1;

  std::string agent;
  std::int64_t seq = 0;  // assigned by the agent's outbox; 0 until then
  TimePoint ts{};        // when the sample was taken
  std::string platform;  // source type: "twitch", "nginx_rtmp", ...
  std::string channel;
  bool live = false;

  std::optional<std::int64_t> viewers;
  std::optional<std::string> stream_id;
  std::optional<std::string> title;
  std::optional<std::string> category;
  std::optional<TimePoint> started_at;
  std::optional<std::int64_t> chat_messages;  // messages seen during the sample interval
  std::optional<std::int64_t> chatters;       // distinct senders during the sample interval
  std::optional<double> bitrate_kbps;
  std::optional<double> fps;
  std::optional<std::int64_t> dropped_frames;
  std::optional<std::int64_t> width;
  std::optional<std::int64_t> height;
  std::optional<std::string> video_codec;
  std::optional<std::string> audio_codec;

  bool operator==(const Sample&) const = default;
};

}  // namespace streamtrack
