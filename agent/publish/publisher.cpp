#include "agent/publish/publisher.hpp"

#include <algorithm>
#include <limits>

namespace streamtrack::agent::publish {

namespace {
constexpr std::int64_t k_end = std::numeric_limits<std::int64_t>::max();
constexpr std::size_t k_chunk = 32;
}  // namespace

Publisher::Publisher(Options options, RowSource& rows, Transport& transport)
    : m_options(options), m_rows(rows), m_transport(transport) {
  m_unsent.emplace(1, k_end);
}

void Publisher::on_connected() {
  m_live_from = m_rows.last_seq() + 1;
}

void Publisher::on_delivered(std::uint64_t id, bool ok, Steady::time_point now) {
  const auto it = m_inflight.find(id);
  if (it == m_inflight.end()) return;
  const std::int64_t seq = it->second;
  m_inflight.erase(it);
  if (!ok) {
    ++m_figures.failures;
    m_resend.insert(seq);
    return;
  }
  ++m_figures.pubacks;
  if (m_options.delivery == Delivery::broker) {
    m_done.push_back(seq);
  } else {
    m_unacked[seq] = now;
  }
}

void Publisher::on_ack(const wire::Ack& ack) {
  if (m_options.delivery != Delivery::committed) return;
  for (const auto& [first, last] : ack.ranges) {
    if (first > last) continue;
    m_done_ranges.emplace_back(first, last);
    const auto before = m_unacked.size();
    m_unacked.erase(m_unacked.lower_bound(first), m_unacked.upper_bound(last));
    m_figures.committed += static_cast<std::int64_t>(before - m_unacked.size());
    m_resend.erase(m_resend.lower_bound(first), m_resend.upper_bound(last));
    erase_unsent(first, last == k_end ? k_end : last + 1);
  }
}

void Publisher::erase_unsent(std::int64_t from, std::int64_t to) {
  if (from >= to) return;
  auto it = m_unsent.upper_bound(from);
  if (it != m_unsent.begin()) --it;
  while (it != m_unsent.end() && it->first < to) {
    const std::int64_t start = it->first;
    const std::int64_t end = it->second;
    if (end <= from) {
      ++it;
      continue;
    }
    it = m_unsent.erase(it);
    if (start < from) m_unsent.emplace(start, from);
    if (end > to) {
      m_unsent.emplace(to, end);
      break;
    }
  }
}

bool Publisher::window_full() const {
  if (m_inflight.size() >= m_options.max_inflight) return true;
  return m_options.delivery == Delivery::committed &&
         m_inflight.size() + m_unacked.size() >= m_options.max_unacked;
}

bool Publisher::send_row(const outbox::Row& row, bool resend) {
  const auto id = m_transport.publish(mqtt::Message{row.topic, row.payload, 1, false});
  if (!id) return false;
  m_inflight.emplace(*id, row.seq);
  ++m_figures.published;
  if (resend) ++m_figures.resent;
  return true;
}

std::size_t Publisher::send_resends() {
  std::size_t sent = 0;
  while (!window_full() && !m_resend.empty()) {
    const std::int64_t seq = *m_resend.begin();
    m_resend.erase(m_resend.begin());
    const auto rows = m_rows.read(seq, seq + 1, 1);
    if (rows.empty()) continue;  // deleted meanwhile (acked or dropped)
    if (!send_row(rows.front(), true)) {
      m_resend.insert(seq);
      break;
    }
    ++sent;
  }
  return sent;
}

// Sends up to `limit` rows from the front of one stream: the backlog (seq < m_live_from) or
// the live samples (seq >= m_live_from).
std::size_t Publisher::send_stream(bool live, std::size_t limit) {
  const std::int64_t stored_end = m_rows.last_seq() + 1;
  std::size_t sent = 0;
  while (sent < limit && !window_full()) {
    auto it = live ? m_unsent.upper_bound(m_live_from) : m_unsent.begin();
    if (live && it != m_unsent.begin() && std::prev(it)->second > m_live_from) --it;
    if (it == m_unsent.end()) break;
    const std::int64_t start = live ? std::max(it->first, m_live_from) : it->first;
    std::int64_t before = std::min(it->second, stored_end);
    if (!live) before = std::min(before, m_live_from);
    if (start >= before) break;
    const std::size_t want = limit - sent;
    const auto rows = m_rows.read(start, before, want);
    std::int64_t scanned_end = rows.size() == want ? rows.back().seq + 1 : before;
    for (const auto& row : rows) {
      if (window_full() || !send_row(row, false)) {
        scanned_end = row.seq;
        break;
      }
      ++sent;
    }
    erase_unsent(start, scanned_end);
    if (scanned_end != before && sent < limit && !window_full()) break;  // client refused
    if (rows.empty()) continue;
  }
  return sent;
}

std::size_t Publisher::pump(Steady::time_point now, bool connected) {
  if (m_options.delivery == Delivery::committed && now >= m_next_timeout_scan) {
    m_next_timeout_scan =
        now + std::min(m_options.ack_timeout / 4, std::chrono::milliseconds{1000});
    for (auto it = m_unacked.begin(); it != m_unacked.end();) {
      if (now - it->second >= m_options.ack_timeout) {
        m_resend.insert(it->first);
        it = m_unacked.erase(it);
      } else {
        ++it;
      }
    }
  }
  if (!connected) return 0;
  std::size_t sent = send_resends();
  bool stalled = false;
  while (!window_full()) {
    const std::size_t n = send_stream(m_live_turn, k_chunk);
    m_live_turn = !m_live_turn;
    sent += n;
    if (n == 0) {
      if (stalled) break;
      stalled = true;
    } else {
      stalled = false;
    }
  }
  return sent;
}

std::vector<std::pair<std::int64_t, std::int64_t>> Publisher::take_done() {
  auto ranges = wire::to_ranges(std::move(m_done));
  m_done.clear();
  ranges.insert(ranges.end(), m_done_ranges.begin(), m_done_ranges.end());
  m_done_ranges.clear();
  return ranges;
}

void Publisher::return_done(const std::vector<std::pair<std::int64_t, std::int64_t>>& ranges) {
  m_done_ranges.insert(m_done_ranges.end(), ranges.begin(), ranges.end());
}

bool Publisher::has_work(bool connected) const {
  if (!connected || window_full()) return false;
  if (!m_resend.empty()) return true;
  return !m_unsent.empty() && m_unsent.begin()->first <= m_rows.last_seq();
}

Figures Publisher::figures() const {
  Figures f = m_figures;
  f.inflight = m_inflight.size();
  f.unacked = m_unacked.size();
  return f;
}

}  // namespace streamtrack::agent::publish
