#pragma once

// What the end-to-end ingest benchmarks (collector_ingest, latency, backlog_drain) share: the
// realistic samples they send, and the broker and collector they start on loopback.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/util/time.hpp"
#include "common/wire/sample.hpp"
#include "tests/support/harness.hpp"

namespace streamtrack::bench {

// Sample number `i` of a busy nginx-rtmp server's `channels` channels taking turns, `spacing`
// apart from `base`: each channel's title changes every 10 of its samples and its broadcast
// (stream id) every `samples_per_broadcast`; viewers, chat and bitrate vary as a live channel's
// do. agent and seq are left to the caller.
inline Sample realistic_sample(std::int64_t i, std::int64_t channels, TimePoint base,
                               std::chrono::milliseconds spacing,
                               std::int64_t samples_per_broadcast) {
  Sample s;
  const auto channel = i % channels;
  const auto round = i / channels;  // how many samples this channel had before
  s.ts = base + spacing * i;
  s.platform = "nginx_rtmp";
  s.channel = "live/channel-" + std::to_string(channel);
  s.live = true;
  s.stream_id = "b" + std::to_string(channel) + "-" + std::to_string(round / samples_per_broadcast);
  s.title =
      "Channel " + std::to_string(channel) + " playing part " + std::to_string(round / 10 + 1);
  s.category = channel % 3 == 0 ? "Just Chatting" : "Software and Game Development";
  s.viewers = (i * 7) % 5000;
  s.chat_messages = i % 50;
  s.chatters = i % 20;
  s.bitrate_kbps = 2500.5;
  s.fps = 30;
  return s;
}

// A child process with its output in `log`.
inline testing::Process start_process(const std::vector<std::string>& argv,
                                      const std::filesystem::path& log) {
  return testing::Process({.argv = argv,
                           .env = {},
                           .log_file = log,
                           .uid = std::nullopt,
                           .gid = std::nullopt,
                           .cwd = {}});
}

// A Mosquitto of the benchmark's own on a free loopback port, with no queue or in-flight limit:
// the default drops QoS 1 messages beyond 1,000 queued per client, which a benchmark
// publishing faster than the collector acknowledges would hit.
class Broker {
 public:
  // Starts it with its files in `dir` and returns once it accepts connections (throws
  // std::runtime_error if it never does).
  explicit Broker(const std::filesystem::path& dir)
      : port(testing::free_port()),
        url("mqtt://127.0.0.1:" + std::to_string(port)),
        m_process(start_process({"/usr/sbin/mosquitto", "-c", write_config(dir).string()},
                                dir / "mosquitto.log")) {
    if (!testing::wait_until([&] { return testing::port_accepts(port); })) {
      throw std::runtime_error("mosquitto did not start:\n" + m_process.output());
    }
  }

  const std::uint16_t port;
  const std::string url;
  pid_t pid() const { return m_process.pid(); }

 private:
  std::filesystem::path write_config(const std::filesystem::path& dir) const {
    auto path = dir / "mosquitto.conf";
    testing::write_file(path, "listener " + std::to_string(port) +
                                  " 127.0.0.1\nallow_anonymous true\n"
                                  "max_queued_messages 0\nmax_inflight_messages 0\n");
    return path;
  }

  testing::Process m_process;
};

// collector.toml for a benchmark's collector (id "bench", topic prefix "st/v1", two writers,
// batches of up to 5,000 rows), `collector_keys` added to its [collector] table, its /metrics on
// `http_listen` (none when empty).
inline std::string collector_toml(const std::string& broker_url, const std::string& dsn,
                                  const std::string& max_delay,
                                  const std::string& collector_keys = "",
                                  const std::string& http_listen = "",
                                  const std::string& max_rows = "5000") {
  return "[collector]\nid = \"bench\"\n" + collector_keys + "[mqtt]\nurl = \"" + broker_url +
         "\"\ntopic_prefix = \"st/v1\"\n[postgres]\ndsn = \"" + dsn +
         "\"\npool_size = 2\n[batch]\nmax_rows = " + max_rows + "\nmax_delay = \"" + max_delay +
         "\"\nmax_pending_rows = 200000\n[http]\nlisten = \"" + http_listen + "\"\n";
}

}  // namespace streamtrack::bench
