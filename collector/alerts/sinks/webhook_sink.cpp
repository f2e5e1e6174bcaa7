#include "collector/alerts/sinks/webhook_sink.hpp"

#include "collector/alerts/payload.hpp"
#include "common/daemon/log.hpp"
#include "common/util/backoff.hpp"

namespace streamtrack::collector::alerts::sinks {

namespace {

constexpr std::size_t k_max_queue = 10'000;
using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;

}  // namespace

std::string webhook_body(WebhookPreset preset, const Notification& n, milliseconds hold) {
  switch (preset) {
    case WebhookPreset::alertmanager:
      return alertmanager_json(n, hold);
    case WebhookPreset::slack:
      return chat_json(n);
    case WebhookPreset::json:
      break;
  }
  return alert_json(n);
}

WebhookSink::WebhookSink(WebhookConfig config, milliseconds alertmanager_hold,
                         std::unique_ptr<HttpPoster> http)
    : m_config(std::move(config)),
      m_hold(alertmanager_hold),
      m_http(http ? std::move(http) : curl_poster()),
      m_thread([this] { run(); }) {}

WebhookSink::~WebhookSink() {
  {
    std::lock_guard lock(m_mutex);
    m_stop = true;
  }
  m_stopping = true;
  m_cv.notify_all();
  m_thread.join();
  if (!m_queue.empty()) {
    log::warning("alerts: webhook stopped with undelivered notifications webhook=" +
                 log::quote(m_config.name) + " count=" + std::to_string(m_queue.size()));
  }
}

void WebhookSink::deliver(const Notification& n) {
  Item item{webhook_body(m_config.preset, n, m_hold),
            std::string(event_name(n.event)) + " " + n.alert.id()};
  {
    std::lock_guard lock(m_mutex);
    m_queue.push_back(std::move(item));
    while (m_queue.size() > k_max_queue) {
      ++m_counters.failed;
      log::error("alerts: webhook queue full, dropping webhook=" + log::quote(m_config.name) +
                 " alert=" + log::quote(m_queue[1].what));
      m_queue.erase(m_queue.begin() + 1);  // the front may be in flight
    }
  }
  m_cv.notify_all();
}

std::size_t WebhookSink::queued() const {
  std::lock_guard lock(m_mutex);
  return m_queue.size();
}

void WebhookSink::drop_queued() {
  std::lock_guard lock(m_mutex);
  if (!m_queue.empty()) {
    log::notice("alerts: webhook dropped queued notifications webhook=" +
                log::quote(m_config.name) + " count=" + std::to_string(m_queue.size()));
  }
  m_queue.clear();
  ++m_generation;
  m_cv.notify_all();
}

WebhookSink::Attempt WebhookSink::post(const std::string& body) {
  const auto reply = m_http->post(
      {.url = m_config.url, .headers = m_config.headers, .body = body, .timeout = m_config.timeout},
      m_stopping);
  if (!reply) return {Outcome::retry, reply.error()};
  if (reply->status >= 200 && reply->status < 300) return {Outcome::ok, {}};
  const bool passing = reply->status == 408 || reply->status == 429 || reply->status >= 500;
  return {
      passing ? Outcome::retry : Outcome::error,
      "HTTP " + std::to_string(reply->status) + (reply->body.empty() ? "" : ": " + reply->body)};
}

void WebhookSink::run() {
  Backoff backoff(milliseconds{500}, milliseconds{60'000});
  std::unique_lock lock(m_mutex);
  while (true) {
    m_cv.wait(lock, [&] { return m_stop || !m_queue.empty(); });
    if (m_stop) return;
    const Item item = m_queue.front();
    const auto generation = m_generation;
    const auto first = Steady::now();
    bool done = false;
    while (!done && generation == m_generation) {
      lock.unlock();
      const auto [outcome, error] = post(item.body);
      lock.lock();
      if (outcome == Outcome::ok) {
        ++m_counters.sent;
        backoff.reset();
        log::debug("alerts: webhook delivered webhook=" + log::quote(m_config.name) +
                   " alert=" + log::quote(item.what));
        done = true;
      } else if (outcome == Outcome::error || Steady::now() - first >= m_config.retry_for) {
        ++m_counters.failed;
        backoff.reset();
        log::error("alerts: webhook gave up webhook=" + log::quote(m_config.name) +
                   " alert=" + log::quote(item.what) + " error=" + log::quote(error));
        done = true;
      } else {
        ++m_counters.retries;
        const auto delay = backoff.next_delay();
        log::warning("alerts: webhook failed, retrying webhook=" + log::quote(m_config.name) +
                     " alert=" + log::quote(item.what) + " in_ms=" + std::to_string(delay.count()) +
                     " error=" + log::quote(error));
        if (m_cv.wait_for(lock, delay, [&] { return m_stop || generation != m_generation; }) &&
            m_stop) {
          return;
        }
      }
    }
    // After drop_queued() the front is no longer this item (it was dropped with the rest).
    if (generation == m_generation && !m_queue.empty()) m_queue.pop_front();
  }
}

}  // namespace streamtrack::collector::alerts::sinks
