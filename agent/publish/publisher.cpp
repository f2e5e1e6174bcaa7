#include "agent/publish/publisher.hpp"

#include <algorithm>
#include <limits>
#include <string_view>

#include "common/wire/utf8.hpp"

namespace streamtrack::agent::publish {

namespace {
constexpr std::int64_t k_end = std::numeric_limits<std::int64_t>::max();
constexpr std::size_t k_chunk = 32;

// Adds [from, to) to a set of disjoint [first, end) intervals, merging neighbours.
void add_interval(std::map<std::int64_t, std::int64_t>& set, std::int64_t from, std::int64_t to) {
  auto it = set.upper_bound(from);
  if (it != set.begin() && std::prev(it)->second >= from) {
    --it;
    from = it->first;
    to = std::max(to, it->second);
    it = set.erase(it);
  }
  while (it != set.end() && it->first <= to) {
    to = std::max(to, it->second);
    it = set.erase(it);
  }
  set.emplace(from, to);
}

// How many of [from, to) the intervals cover.
std::int64_t covered(const std::map<std::int64_t, std::int64_t>& set, std::int64_t from,
                     std::int64_t to) {
  std::int64_t n = 0;
  auto it = set.upper_bound(from);
  if (it != set.begin()) --it;
  for (; it != set.end() && it->first < to; ++it) {
    const auto lo = std::max(from, it->first);
    const auto hi = std::min(to, it->second);
    if (hi > lo) n += hi - lo;
  }
  return n;
}

// Whether the client takes `topic` for a publish: valid UTF-8 without NUL or wildcards.
bool publishable_topic(std::string_view topic) {
  if (topic.empty() || topic.size() > 65535) return false;
  // Most topics are ASCII: checked byte by byte, without decoding (every backlog row's topic is
  // checked before it goes into a frame).
  const bool ascii = std::all_of(topic.begin(), topic.end(),
                                 [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (ascii) return topic.find_first_of(std::string_view("\0+#", 3)) == std::string_view::npos;
  for (std::size_t i = 0; i < topic.size();) {
    const auto d = wire::utf8::decode_at(topic, i);
    if (d.length == 0 || d.code_point == 0 || d.code_point == '+' || d.code_point == '#') {
      return false;
    }
    i += d.length;
  }
  return true;
}

}  // namespace

Publisher::Publisher(Options options, RowSource& rows, Transport& transport)
    : m_options(std::move(options)),
      m_rows(rows),
      m_transport(transport),
      m_frame(m_options.agent, m_options.max_frame_bytes, m_options.max_frame_samples) {
  m_unsent.emplace(1, k_end);
  constexpr std::string_view k_frames = "frames";
  if (m_options.frame_topic.ends_with(k_frames)) {
    m_own_metrics =
        m_options.frame_topic.substr(0, m_options.frame_topic.size() - k_frames.size()) +
        "metrics/";
  }
}

void Publisher::on_connected() {
  m_live_from = m_rows.last_seq() + 1;
}

void Publisher::mark_done(std::int64_t seq) {
  m_held.erase(seq);
  m_unacked.erase(seq);
  m_resend.erase(seq);
  m_done.push_back(seq);
}

void Publisher::delivered_seq(std::int64_t seq, bool ok, Steady::time_point now) {
  if (!m_held.count(seq)) return;  // the collector's ack came first: already done
  if (!ok) {
    m_resend.insert(seq);
    return;
  }
  if (m_options.delivery == Delivery::broker) {
    mark_done(seq);
  } else {
    m_unacked[seq] = now;
  }
}

bool Publisher::on_delivered(std::uint64_t id, bool ok, Steady::time_point now) {
  if (const auto frame = m_inflight_frames.find(id); frame != m_inflight_frames.end()) {
    const auto seqs = std::move(frame->second);
    m_inflight_frames.erase(frame);
    m_inflight_framed -= seqs.size();
    ++(ok ? m_figures.pubacks : m_figures.failures);
    for (const auto seq : seqs) delivered_seq(seq, ok, now);
    return true;
  }
  const auto it = m_inflight.find(id);
  if (it == m_inflight.end()) return false;
  const std::int64_t seq = it->second;
  m_inflight.erase(it);
  if (!m_held.count(seq)) return true;
  ++(ok ? m_figures.pubacks : m_figures.failures);
  delivered_seq(seq, ok, now);
  return true;
}

void Publisher::on_refused(std::uint64_t id, const std::string& reason) {
  if (const auto frame = m_inflight_frames.find(id); frame != m_inflight_frames.end()) {
    // Which of its samples made the broker refuse the frame is unknown: each is sent again
    // alone, and a sample refused alone is quarantined alone.
    for (const auto seq : frame->second) {
      if (m_held.count(seq)) m_resend.insert(seq);
    }
    m_inflight_framed -= frame->second.size();
    m_inflight_frames.erase(frame);
    return;
  }
  const auto it = m_inflight.find(id);
  if (it == m_inflight.end()) return;
  const std::int64_t seq = it->second;
  m_inflight.erase(it);
  if (!m_held.count(seq)) return;
  if (!m_rows.quarantine(seq, reason)) {
    m_resend.insert(seq);
    return;
  }
  ++m_figures.quarantined;
  m_held.erase(seq);
}

AckReport Publisher::on_ack(const wire::Ack& ack) {
  AckReport report;
  if (m_options.delivery != Delivery::committed) return report;
  const std::int64_t last = m_rows.last_seq();
  // No collector can ack a seq this agent never gave out: such an ack comes from a forger or
  // is meant for another agent with the same id. Nothing in it counts, not even the seqs
  // that happen to match ours.
  for (const auto& [first, end_inclusive] : ack.ranges) {
    if (first <= end_inclusive && end_inclusive > last) {
      report.beyond_last_seq = wire::seqs_named(ack);
      return report;
    }
  }
  for (const auto& [first, end_inclusive] : ack.ranges) {
    if (first > end_inclusive || first < 1) continue;
    const std::int64_t hi = end_inclusive;
    std::vector<std::int64_t> applied;
    for (auto it = m_held.lower_bound(first); it != m_held.end() && *it <= hi; ++it) {
      applied.push_back(*it);
    }
    for (const auto seq : applied) mark_done(seq);
    const auto n_applied = static_cast<std::int64_t>(applied.size());
    const std::int64_t published = covered(m_published, first, hi + 1);
    report.applied += n_applied;
    report.already_done += published - n_applied;
    report.not_published += (hi - first + 1) - published;
  }
  m_figures.committed += report.applied;
  return report;
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

// Samples a collector may still have to commit: in flight alone, in flight in frames, and
// delivered but not yet acked.
std::size_t Publisher::samples_outstanding() const {
  return m_inflight.size() + m_inflight_framed + m_unacked.size();
}

bool Publisher::window_full() const {
  if (m_inflight.size() + m_inflight_frames.size() >= m_options.max_inflight) return true;
  // Samples, not publishes: frames must not multiply what a collector receives at once. Broker
  // delivery without frames has only max_inflight, as before frames existed.
  if (m_options.delivery == Delivery::broker && !frames_on()) return false;
  return samples_outstanding() >= m_options.max_unacked;
}

bool Publisher::frames_on() const {
  return m_options.max_frame_samples >= 2 && !m_own_metrics.empty();
}

// Sends the front of the backlog as one frame of as many samples as its bounds allow; a
// single sample (or one too large for any frame) goes alone on its metrics topic.
std::size_t Publisher::send_backlog_frame() {
  if (m_unsent.empty() || window_full()) return 0;
  const auto it = m_unsent.begin();
  const std::int64_t start = it->first;
  const std::int64_t before = std::min({it->second, m_rows.last_seq() + 1, m_live_from});
  if (start >= before) return 0;
  // No more samples than the window has room for.
  const std::size_t outstanding = samples_outstanding();
  if (outstanding >= m_options.max_unacked) return 0;
  const std::size_t room = m_options.max_unacked - outstanding;
  const std::size_t want = std::min({m_options.max_frame_samples, wire::k_max_frame_samples, room});
  const auto rows = m_rows.read(start, before, want);
  if (!rows) {
    ++m_figures.read_errors;
    return 0;
  }
  if (rows->empty()) {
    erase_unsent(start, before);
    return 0;
  }
  // The read returned at most `want` rows: the frame holds no more samples than that.
  auto& frame = m_frame;
  frame.clear();
  // Only rows of this agent id with a topic the client would take go into its frame: a row
  // stored under another id (the agent was renamed) or with a topic an older agent wrote
  // wrongly goes alone on its own topic, as it always did (and is quarantined if refused).
  const auto own = [&](const outbox::Row& row) {
    return row.topic.starts_with(m_own_metrics) && publishable_topic(row.topic);
  };
  std::size_t n = 0;
  while (n < rows->size() && own((*rows)[n]) && frame.add((*rows)[n].payload)) ++n;
  // Everything read went into the frame and the read was short: nothing else waits below
  // `before`.
  const bool all = n == rows->size() && rows->size() < want;
  if (n >= 2) {
    frame.finish_into(m_frame_payload);
    mqtt::Message message{m_options.frame_topic, std::move(m_frame_payload), 1, false};
    const auto result = m_transport.publish(message);
    m_frame_payload = std::move(message.payload);  // its buffer serves a later frame
    if (result.kind == mqtt::PublishResult::Kind::retry) return 0;
    if (result.kind == mqtt::PublishResult::Kind::sent) {
      std::vector<std::int64_t> seqs;
      seqs.reserve(n);
      for (std::size_t i = 0; i < n; ++i) {
        const auto seq = (*rows)[i].seq;
        seqs.push_back(seq);
        m_held.insert(seq);
        add_interval(m_published, seq, seq + 1);
      }
      m_inflight_framed += n;
      m_inflight_frames.emplace(result.id, std::move(seqs));
      m_figures.published += static_cast<std::int64_t>(n);
      m_figures.framed += static_cast<std::int64_t>(n);
      ++m_figures.frames;
      erase_unsent(start, all ? before : (*rows)[n - 1].seq + 1);
      return n;
    }
    // Refused for good: one of its samples cannot be sent (e.g. stored by an older agent).
    // Each goes alone below, so that only that one is quarantined.
  }
  const std::size_t alone = std::max<std::size_t>(n, 1);
  std::size_t sent = 0;
  std::int64_t scanned_end = (all && alone == rows->size()) ? before : (*rows)[alone - 1].seq + 1;
  for (std::size_t i = 0; i < alone; ++i) {
    const auto outcome = window_full() ? Outcome::retry : send_row((*rows)[i], false);
    if (outcome == Outcome::retry) {
      scanned_end = (*rows)[i].seq;
      break;
    }
    if (outcome == Outcome::ok) ++sent;
  }
  erase_unsent(start, scanned_end);
  return sent;
}

Outcome Publisher::send_row(const outbox::Row& row, bool resend) {
  const auto result = m_transport.publish(mqtt::Message{row.topic, row.payload, 1, false});
  switch (result.kind) {
    case mqtt::PublishResult::Kind::sent:
      m_inflight.emplace(result.id, row.seq);
      m_held.insert(row.seq);
      add_interval(m_published, row.seq, row.seq + 1);
      ++m_figures.published;
      if (resend) ++m_figures.resent;
      return Outcome::ok;
    case mqtt::PublishResult::Kind::reject:
      if (!m_rows.quarantine(row.seq, result.error)) return Outcome::retry;
      ++m_figures.quarantined;
      m_held.erase(row.seq);
      m_unacked.erase(row.seq);
      m_resend.erase(row.seq);
      return Outcome::error;
    case mqtt::PublishResult::Kind::retry:
      break;
  }
  return Outcome::retry;
}

std::size_t Publisher::send_resends() {
  std::size_t sent = 0;
  while (!window_full() && !m_resend.empty()) {
    const std::int64_t seq = *m_resend.begin();
    const auto rows = m_rows.read(seq, seq + 1, 1);
    if (!rows) {
      ++m_figures.read_errors;
      break;  // keep it: a failed read says nothing about the row
    }
    if (rows->empty()) {  // deleted meanwhile (dropped by the outbox limits)
      m_resend.erase(m_resend.begin());
      m_held.erase(seq);
      continue;
    }
    const auto outcome = send_row(rows->front(), true);
    if (outcome == Outcome::retry) break;
    m_resend.erase(seq);
    if (outcome == Outcome::ok) ++sent;
  }
  return sent;
}

// Sends up to `limit` rows from the front of one stream: the backlog (seq < m_live_from) or
// the live samples (seq >= m_live_from).
std::size_t Publisher::send_stream(bool live, std::size_t limit) {
  if (!live && frames_on()) return send_backlog_frame();
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
    if (!rows) {
      ++m_figures.read_errors;
      break;  // nothing is marked as sent: the same rows are read again next time
    }
    std::int64_t scanned_end = rows->size() == want ? rows->back().seq + 1 : before;
    bool refused = false;
    for (const auto& row : *rows) {
      const auto outcome = window_full() ? Outcome::retry : send_row(row, false);
      if (outcome == Outcome::retry) {
        scanned_end = row.seq;
        refused = true;
        break;
      }
      if (outcome == Outcome::ok) ++sent;
    }
    erase_unsent(start, scanned_end);
    if (refused) break;
  }
  return sent;
}

std::optional<Steady::time_point> Publisher::next_due() const {
  if (m_options.delivery != Delivery::committed || m_unacked.empty()) return std::nullopt;
  return m_next_timeout_scan;
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
  f.inflight = m_inflight.size() + m_inflight_frames.size();
  f.unacked = m_unacked.size();
  return f;
}

}  // namespace streamtrack::agent::publish
