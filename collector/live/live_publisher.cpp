#include "collector/live/live_publisher.hpp"

#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "common/util/duration.hpp"

namespace streamtrack::collector::live {

using nlohmann::json;

namespace {

template <typename T>
json or_null(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

}  // namespace

std::optional<double> chat_per_minute(const Sample& s, std::optional<TimePoint> previous) {
  if (!s.live || !s.chat_messages || !previous) return std::nullopt;
  const auto gap = s.ts - *previous;
  if (gap <= TimePoint::duration::zero() || gap > std::chrono::minutes(10)) return std::nullopt;
  const auto seconds = std::chrono::duration<double>(gap).count();
  return static_cast<double>(*s.chat_messages) * 60.0 / seconds;
}

std::string live_payload(const Sample& s, TimePoint committed_at,
                         std::optional<double> chat_per_minute) {
  json j{{"platform", s.platform},
         {"channel", s.channel},
         {"agent", s.agent},
         {"t", format_rfc3339(s.ts)},
         {"live", s.live},
         {"viewers", or_null(s.viewers)},
         {"chat", or_null(s.chat_messages)},
         {"chat_per_minute", or_null(chat_per_minute)},
         {"chatters", or_null(s.chatters)},
         {"bitrate_kbps", or_null(s.bitrate_kbps)},
         {"fps", or_null(s.fps)},
         {"title", or_null(s.title)},
         {"category", or_null(s.category)},
         {"committed_at", format_rfc3339(committed_at)}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string live_topic(const wire::Topics& topics, const std::string& platform,
                       const std::string& channel) {
  return topics.root() + "/live/" + wire::escape_segment(platform) + "/" +
         wire::escape_segment(channel);
}

LivePublisher::LivePublisher(const wire::Topics& topics, PublishFn publish, const Clock& clock,
                             std::chrono::milliseconds min_interval)
    : m_topics(topics),
      m_publish(std::move(publish)),
      m_clock(clock),
      m_min_interval(min_interval) {}

bool LivePublisher::due_locked(const Channel& channel, Steady::time_point now) const {
  // 0 never holds, whatever the clock says.
  return m_min_interval.count() == 0 || channel.sent_at == k_never ||
         now >= interval_end_locked(channel);
}

LivePublisher::Steady::time_point LivePublisher::interval_end_locked(const Channel& channel) const {
  return saturating_add(channel.sent_at, m_min_interval);
}

bool LivePublisher::send_locked(Channel& channel, const Sample& s, TimePoint committed_at,
                                std::optional<double> rate, Steady::time_point now) {
  if (!m_publish(live_topic(m_topics, s.platform, s.channel), live_payload(s, committed_at, rate),
                 true)) {
    return false;
  }
  channel.sent_at = now;
  ++m_published;
  return true;
}

void LivePublisher::hold_locked(Channel& channel, const Sample& s, TimePoint committed_at,
                                std::optional<double> rate, Steady::time_point due) {
  if (channel.held) {
    channel.held->sample = s;
    channel.held->committed_at = committed_at;
    channel.held->chat_per_minute = rate;
    return;
  }
  channel.held = std::make_unique<Held>(Held{s, committed_at, rate, m_due.emplace(due, &channel)});
}

void LivePublisher::flush_locked(std::optional<Steady::time_point> now) {
  if (m_due.empty()) return;
  const auto at = now.value_or(m_clock.steady_now());
  while (!m_due.empty()) {
    const auto first = m_due.begin();
    ++m_examined;
    if (now && first->first > *now) return;
    Channel& channel = *first->second;
    const Held& held = *channel.held;
    // The client refuses: the rest waits for the next flush too.
    if (!send_locked(channel, held.sample, held.committed_at, held.chat_per_minute, at)) return;
    m_due.erase(first);
    channel.held.reset();
  }
}

void LivePublisher::committed(const std::vector<ingest::Item>& batch) {
  // Per channel (platform and channel, viewed in `batch`): its newest sample of the batch (the
  // first of equal times) and the latest earlier time of its samples (for its chat rate), in
  // one pass without copying names per sample.
  struct Newest {
    const Sample* sample;
    std::optional<TimePoint> previous;
  };
  std::map<std::pair<std::string_view, std::string_view>, Newest> newest;
  for (const auto& item : batch) {
    if (item.kind != ingest::Item::Kind::sample || !item.sample) continue;
    const Sample& s = *item.sample;
    auto [it, first] = newest.try_emplace({s.platform, s.channel}, Newest{&s, std::nullopt});
    if (first) continue;
    auto& channel = it->second;
    if (s.ts > channel.sample->ts) {
      channel.previous = channel.sample->ts;
      channel.sample = &s;
    } else if (s.ts < channel.sample->ts && (!channel.previous || s.ts > *channel.previous)) {
      channel.previous = s.ts;
    }
  }
  // Under the lock, so two writer threads cannot publish one channel's values out of order
  // (the client only queues the message), and read the clock under it too: a writer that
  // waited for the lock must not use a time before the previous holder's sends.
  std::lock_guard lock(m_mutex);
  const auto now = m_clock.now();
  const auto steady = m_clock.steady_now();
  bool refused = false;  // by the client: no more tries within this commit
  for (const auto& [key, in_batch] : newest) {
    const Sample* s = in_batch.sample;
    std::optional<TimePoint> previous = in_batch.previous;
    auto [it, inserted] =
        m_channels.try_emplace(std::pair<std::string, std::string>(key.first, key.second));
    auto& channel = it->second;
    if (!inserted) {
      if (s->ts <= channel.newest) continue;
      previous = previous ? std::max(*previous, channel.newest) : channel.newest;
    }
    channel.newest = s->ts;
    const auto rate = chat_per_minute(*s, previous);
    if (!due_locked(channel, steady)) {
      hold_locked(channel, *s, now, rate, interval_end_locked(channel));
    } else if (!refused && send_locked(channel, *s, now, rate, steady)) {
      if (channel.held) {  // replaced by the newer value just sent
        m_due.erase(channel.held->due);
        channel.held.reset();
      }
    } else {
      refused = true;
      hold_locked(channel, *s, now, rate, steady);  // due at once: the next flush tries again
    }
  }
  if (!refused) flush_locked(steady);
}

void LivePublisher::flush_due() {
  std::lock_guard lock(m_mutex);
  flush_locked(m_clock.steady_now());
}

void LivePublisher::flush_all() {
  std::lock_guard lock(m_mutex);
  flush_locked(std::nullopt);
}

std::uint64_t LivePublisher::published() const {
  std::lock_guard lock(m_mutex);
  return m_published;
}

std::size_t LivePublisher::held() const {
  std::lock_guard lock(m_mutex);
  return m_due.size();
}

std::uint64_t LivePublisher::examined() const {
  std::lock_guard lock(m_mutex);
  return m_examined;
}

store::WriteOutcome LivePublishingStore::write(const std::vector<ingest::Item>& batch) {
  auto outcome = m_inner.write(batch);
  if (outcome.status == Outcome::ok) m_publisher.committed(batch);
  return outcome;
}

}  // namespace streamtrack::collector::live
