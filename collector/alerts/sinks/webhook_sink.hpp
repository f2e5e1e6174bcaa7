#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "collector/alerts/rule.hpp"
#include "collector/alerts/sinks/http_poster.hpp"
#include "collector/alerts/sinks/sink.hpp"
#include "common/util/outcome.hpp"

namespace streamtrack::collector::alerts::sinks {

// The body a webhook preset sends for `n` (see payload.hpp); `hold` is the Alertmanager endsAt
// horizon for firing alerts.
std::string webhook_body(WebhookPreset preset, const Notification& n,
                         std::chrono::milliseconds hold);

struct WebhookCounters {
  std::atomic<std::uint64_t> sent{0};
  std::atomic<std::uint64_t> retries{0};
  std::atomic<std::uint64_t> failed{0};  // given up
};

// POSTs each notification as JSON on its own thread, in order. A failed attempt
// (connection error, timeout, HTTP 408/429/5xx) is retried with exponential backoff and jitter
// until `retry_for` has passed since the first attempt; other HTTP errors give up at once.
// Either way a give-up is logged with the reason. At most 10000 notifications wait; beyond
// that the oldest is dropped (logged). deliver() never waits for the network.
class WebhookSink final : public Sink {
 public:
  // `alertmanager_hold` is the Alertmanager endsAt horizon for firing alerts; `http` sends
  // (null: libcurl, curl_poster()).
  WebhookSink(WebhookConfig config, std::chrono::milliseconds alertmanager_hold,
              std::unique_ptr<HttpPoster> http = nullptr);
  ~WebhookSink() override;  // stops the thread, aborting an attempt in flight
  WebhookSink(const WebhookSink&) = delete;
  WebhookSink& operator=(const WebhookSink&) = delete;

  void deliver(const Notification& n) override;
  const std::string& name() const override { return m_config.name; }
  const WebhookConfig& config() const { return m_config; }
  const WebhookCounters& counters() const { return m_counters; }
  std::size_t queued() const;
  // Forgets every notification not yet sent (an attempt in flight still finishes).
  void drop_queued();

 private:
  struct Item {
    std::string body;
    std::string what;  // for logs
  };
  void run();
  struct Attempt {
    Outcome outcome;
    std::string error;  // why, unless ok
  };
  // One POST: ok on 2xx; retry on a transport error, 408, 429 or 5xx; error (give up) on any
  // other status.
  Attempt post(const std::string& body);

  WebhookConfig m_config;
  std::chrono::milliseconds m_hold;
  std::unique_ptr<HttpPoster> m_http;
  WebhookCounters m_counters;
  mutable std::mutex m_mutex;
  std::condition_variable m_cv;
  std::deque<Item> m_queue;
  std::uint64_t m_generation = 0;  // bumped by drop_queued(): the item in flight is stale
  bool m_stop = false;
  std::atomic<bool> m_stopping{false};
  std::thread m_thread;
};

}  // namespace streamtrack::collector::alerts::sinks
