#include "collector/ingest/ingest.hpp"

#include "common/util/duration.hpp"
#include "common/wire/frame.hpp"

namespace streamtrack::collector::ingest {

namespace {

// Makes `item` a reject for `reason` in place.
void make_reject(Item& item, std::string reason, bool keep_sample = false) {
  item.kind = Item::Kind::reject;
  item.reason = std::move(reason);
  if (!keep_sample) item.sample.reset();
  item.status.reset();
  item.health.reset();
  if (item.payload.size() > k_max_reject_payload_bytes) {
    item.payload.resize(k_max_reject_payload_bytes);
    item.payload.shrink_to_fit();
  }
  if (item.topic.size() > k_max_reject_topic_bytes) item.topic.resize(k_max_reject_topic_bytes);
}

Item reject(Item item, std::string reason, bool keep_sample = false) {
  make_reject(item, std::move(reason), keep_sample);
  return item;
}

const TimePoint k_window_start = *parse_rfc3339("2000-01-01T00:00:00Z");

}  // namespace

namespace {

// Makes `item` (its sample set: decoded, its agent matching the topic) a sample item, or a
// reject for a time outside `window`, in place: a frame's items are built where they stay.
void make_sample_item(Item& item, TimePoint received_at, const TimeWindow& window) {
  // The reason stays the same for a resend, so ingest_rejects keeps it once. The sample
  // (agent and seq checked against the topic) stays with the reject, so that it is
  // acknowledged once the reject is stored.
  if (const auto earliest = window.earliest(received_at); item.sample->ts < earliest) {
    make_reject(
        item,
        "field \"ts\": outside the accepted time window (before " + format_rfc3339(earliest) + ")",
        true);
    return;
  }
  if (item.sample->ts > window.latest(received_at)) {
    make_reject(item,
                "field \"ts\": outside the accepted time window (more than " +
                    std::to_string(window.max_future.count()) +
                    " ms ahead of the collector's clock)",
                true);
    return;
  }
  item.kind = Item::Kind::sample;
}

Classified classify_frame(Item whole, TimePoint received_at, const TimeWindow& window) {
  Classified out;
  out.frame = true;
  auto frame = wire::decode_frame(whole.payload);
  if (!frame) {
    out.items.push_back(reject(std::move(whole), frame.error()));
    return out;
  }
  if (frame->agent != whole.agent) {
    // The reason first: the order in which a call's arguments are evaluated is unspecified, and
    // moving `whole` into reject() before reading whole.agent named an empty agent (clang).
    auto reason =
        "payload agent \"" + frame->agent + "\" does not match topic agent \"" + whole.agent + "\"";
    out.items.push_back(reject(std::move(whole), std::move(reason)));
    return out;
  }
  out.frame_samples = frame->entries.size();
  out.items.reserve(frame->entries.size());
  for (auto& entry : frame->entries) {
    Item& item = out.items.emplace_back();
    item.received_at = received_at;
    item.topic = whole.topic;
    item.agent = whole.agent;
    item.payload = std::move(entry.text);
    item.payload_bytes = item.payload.size();
    if (!entry.sample) {
      make_reject(item, entry.sample.error());
    } else {
      item.sample = std::move(entry.sample.value());
      make_sample_item(item, received_at, window);
    }
  }
  return out;
}

}  // namespace

TimePoint TimeWindow::earliest(TimePoint now) const {
  if (retention_months <= 0) return k_window_start;
  // The first day of (month of now - retention_months): the oldest partition retention keeps.
  const std::chrono::year_month_day today{std::chrono::floor<std::chrono::days>(now)};
  const auto first =
      std::chrono::year_month{today.year(), today.month()} - std::chrono::months{retention_months};
  const TimePoint kept{std::chrono::sys_days{first / std::chrono::day{1}}};
  return std::max(kept, k_window_start);
}

std::optional<Item> classify(const wire::Topics& topics, std::string topic, std::string payload,
                             TimePoint received_at, const TimeWindow& window) {
  Item item;
  item.received_at = received_at;
  item.topic = std::move(topic);
  item.payload = std::move(payload);
  item.payload_bytes = item.payload.size();
  const auto parsed = topics.parse(item.topic);
  if (!parsed) return reject(std::move(item), "not a StreamTrack topic");
  item.agent = parsed->agent;
  switch (parsed->kind) {
    case wire::TopicKind::metrics: {
      auto s = wire::decode_sample(item.payload);
      if (!s) return reject(std::move(item), s.error());
      if (s->agent != parsed->agent) {
        return reject(std::move(item), "payload agent \"" + s->agent +
                                           "\" does not match topic agent \"" + parsed->agent +
                                           "\"");
      }
      if (s->platform != parsed->platform || s->channel != parsed->channel) {
        return reject(std::move(item), "payload platform/channel \"" + s->platform + "/" +
                                           s->channel + "\" does not match topic \"" +
                                           parsed->platform + "/" + parsed->channel + "\"");
      }
      item.sample = std::move(s.value());
      make_sample_item(item, received_at, window);
      return item;
    }
    case wire::TopicKind::status: {
      if (item.payload.empty()) return std::nullopt;
      auto s = wire::decode_status(item.payload);
      if (!s) return reject(std::move(item), s.error());
      item.kind = Item::Kind::status;
      item.status = std::move(s.value());
      return item;
    }
    case wire::TopicKind::health: {
      auto h = wire::decode_health(item.payload);
      if (!h) return reject(std::move(item), h.error());
      item.kind = Item::Kind::health;
      item.health = std::move(h.value());
      return item;
    }
    default:
      return reject(std::move(item), "not a topic the collector reads");
  }
}

Classified classify_message(const wire::Topics& topics, std::string topic, std::string payload,
                            TimePoint received_at, const TimeWindow& window) {
  const auto parsed = topics.parse(topic);
  if (parsed && parsed->kind == wire::TopicKind::frames) {
    Item whole;
    whole.received_at = received_at;
    whole.topic = std::move(topic);
    whole.payload = std::move(payload);
    whole.payload_bytes = whole.payload.size();
    whole.agent = parsed->agent;
    return classify_frame(std::move(whole), received_at, window);
  }
  Classified out;
  if (auto item = classify(topics, std::move(topic), std::move(payload), received_at, window)) {
    out.items.push_back(std::move(*item));
  }
  return out;
}

std::vector<std::string> subscriptions(const wire::Topics& topics,
                                       const std::string& shared_group) {
  std::vector<std::string> filters{topics.all_metrics_filter(), topics.all_frames_filter(),
                                   topics.all_status_filter(), topics.all_health_filter()};
  if (!shared_group.empty()) {
    const std::string prefix = "$share/" + shared_group + "/";
    for (auto& f : filters) f.insert(0, prefix);
  }
  return filters;
}

std::size_t IngestQueue::footprint(const Item& item) {
  return sizeof(Item) + item.topic.capacity() + item.payload.capacity() + item.agent.capacity() +
         item.reason.capacity();
}

bool IngestQueue::full_locked() const {
  // An item's footprint is at least sizeof(Item) > 0: at max_pending_bytes every push refuses.
  return m_refused || m_pending >= m_max_pending ||
         (m_pending > 0 && m_pending_bytes >= m_max_pending_bytes);
}

bool IngestQueue::push_locked(Item& item, std::chrono::steady_clock::time_point now) {
  if (m_closed) {
    ++m_dropped;
    return false;
  }
  const auto bytes = footprint(item);
  // One item always fits into an empty queue, so no message can block the queue forever.
  if (m_pending >= m_max_pending ||
      (m_pending > 0 && m_pending_bytes + bytes > m_max_pending_bytes)) {
    ++m_dropped;
    m_refused = true;
    return false;
  }
  ++m_pending;
  m_pending_bytes += bytes;
  m_queue.push_back({std::move(item), now});
  return true;
}

bool IngestQueue::push(Item item) {
  std::vector<Item> one;
  one.push_back(std::move(item));
  return push_all(std::move(one)) == 1;
}

std::size_t IngestQueue::push_all(std::vector<Item> items) {
  bool wake = false;
  std::size_t queued = 0;
  {
    std::lock_guard lock(m_mutex);
    const bool was_empty = m_queue.empty();
    const bool was_full = full_locked();
    const auto now = std::chrono::steady_clock::now();
    for (auto& item : items) {
      if (!push_locked(item, now)) {
        m_dropped += items.size() - queued - 1;
        break;
      }
      ++queued;
    }
    // A waiting writer either sleeps until the queue is not empty or until the oldest item is
    // due; in between, only a full batch or a full queue changes what it waits for.
    wake = m_waiting > 0 && !m_queue.empty() &&
           ((queued > 0 && (was_empty || m_queue.size() >= m_batch_rows)) ||
            (!was_full && full_locked()));
  }
  if (wake) m_cv.notify_one();
  return queued;
}

std::vector<Item> IngestQueue::take_batch(const BatchCut& cut) {
  std::unique_lock lock(m_mutex);
  return take_batch_locked(lock, cut, std::nullopt);
}

std::vector<Item> IngestQueue::take_batch(const BatchCut& cut, std::uint64_t interruptions_seen) {
  std::unique_lock lock(m_mutex);
  return take_batch_locked(lock, cut, interruptions_seen);
}

std::vector<Item> IngestQueue::take_batch_locked(std::unique_lock<std::mutex>& lock,
                                                 const BatchCut& cut,
                                                 std::optional<std::uint64_t> interruptions_seen) {
  const auto max_rows = std::max<std::size_t>(cut.max_rows, 1);
  m_batch_rows = max_rows;
  while (true) {
    if (m_closed && !m_queue.empty()) break;
    if (m_closed) return {};
    if (interruptions_seen && *interruptions_seen != m_interruptions) return {};
    if (m_queue.size() >= max_rows) break;
    // A queue that refuses pushes: what it holds is due at once (another writer may take it
    // while a batch is being written), waiting would only refuse more messages.
    if (!m_queue.empty() && full_locked()) break;
    // Group commit: while no batch is being written, the rows wait only min_delay (from their
    // first row's arrival) for others to join them; the rows that arrive during a write wait
    // up to max_delay, or min_delay once it ends.
    const auto delay = m_batches_out == 0 ? std::min(cut.min_delay, cut.max_delay) : cut.max_delay;
    // Saturated: a delay beyond what the clock counts never expires.
    const auto due = m_queue.empty() ? std::chrono::steady_clock::time_point::max()
                                     : saturating_add(m_queue.front().at, delay);
    if (!m_queue.empty() && std::chrono::steady_clock::now() >= due) break;
    // The front's due time only moves later while waited on unless someone notifies: pushes
    // append (and notify when the queue stops being empty, holds a full batch or becomes
    // full); a take that leaves items, the release of the last batch and new limits notify.
    // So a timed wait never ends too late.
    ++m_waiting;
    if (due == std::chrono::steady_clock::time_point::max()) {
      m_cv.wait(lock);
    } else {
      m_cv.wait_until(lock, due);
    }
    --m_waiting;
  }
  const auto n = std::min(max_rows, m_queue.size());
  std::vector<Item> batch;
  batch.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    batch.push_back(std::move(m_queue.front().item));
    m_queue.pop_front();
  }
  if (n > 0) ++m_batches_out;
  if (!m_queue.empty()) m_cv.notify_one();
  return batch;
}

void IngestQueue::release(const std::vector<Item>& batch) {
  std::size_t bytes = 0;
  for (const auto& item : batch) bytes += footprint(item);
  bool wake = false;
  {
    std::lock_guard lock(m_mutex);
    m_pending -= std::min(batch.size(), m_pending);
    m_pending_bytes -= std::min(bytes, m_pending_bytes);
    if (!batch.empty() && m_batches_out > 0) --m_batches_out;
    // Room again (a push refused so far might fit now): full only by the limits.
    if (!batch.empty()) m_refused = false;
    // The rows that waited during the last write wait min_delay now, which may be over.
    wake = m_batches_out == 0 && !m_queue.empty() && m_waiting > 0;
  }
  if (wake) m_cv.notify_one();
}

void IngestQueue::interrupt() {
  {
    std::lock_guard lock(m_mutex);
    ++m_interruptions;
  }
  m_cv.notify_all();
}

std::uint64_t IngestQueue::interruptions() const {
  std::lock_guard lock(m_mutex);
  return m_interruptions;
}

void IngestQueue::set_limits(std::size_t max_pending, std::size_t max_pending_bytes) {
  bool wake = false;
  {
    std::lock_guard lock(m_mutex);
    m_max_pending = max_pending;
    m_max_pending_bytes = max_pending_bytes;
    m_refused = false;
    wake = m_waiting > 0 && !m_queue.empty() && full_locked();
  }
  if (wake) m_cv.notify_one();
}

void IngestQueue::close() {
  {
    std::lock_guard lock(m_mutex);
    m_closed = true;
  }
  m_cv.notify_all();
}

bool IngestQueue::closed() const {
  std::lock_guard lock(m_mutex);
  return m_closed;
}

std::size_t IngestQueue::pending() const {
  std::lock_guard lock(m_mutex);
  return m_pending;
}

std::size_t IngestQueue::pending_bytes() const {
  std::lock_guard lock(m_mutex);
  return m_pending_bytes;
}

std::uint64_t IngestQueue::dropped() const {
  std::lock_guard lock(m_mutex);
  return m_dropped;
}

}  // namespace streamtrack::collector::ingest
