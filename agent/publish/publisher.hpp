#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "agent/config/agent_config.hpp"
#include "agent/outbox/outbox.hpp"
#include "common/mqtt/client.hpp"
#include "common/wire/codec.hpp"

// Decides what leaves the outbox for the broker, and when a sample counts as delivered.
// Single-threaded: the daemon feeds it the client's events from its main loop.
namespace streamtrack::agent::publish {

using Steady = std::chrono::steady_clock;

// What the publisher reads from: the outbox (a fake in unit tests).
class RowSource {
 public:
  virtual ~RowSource() = default;
  // Up to `limit` stored rows with from <= seq < before, in seq order.
  virtual std::vector<outbox::Row> read(std::int64_t from, std::int64_t before,
                                        std::size_t limit) = 0;
  // The highest seq given out so far.
  virtual std::int64_t last_seq() const = 0;
};

// What the publisher sends through: mqtt::Client (a fake in unit tests).
class Transport {
 public:
  virtual ~Transport() = default;
  // An id whose outcome will be reported once to Publisher::on_delivered, or nullopt when
  // nothing was sent.
  virtual std::optional<std::uint64_t> publish(const mqtt::Message& message) = 0;
};

struct Options {
  std::size_t max_inflight = 256;  // QoS 1 publishes awaiting PUBACK
  Delivery delivery = Delivery::committed;
  std::chrono::milliseconds ack_timeout{60'000};
  // delivery = committed: most samples published and awaiting the collector's ack (beyond
  // this the publisher waits for acks instead of pushing the whole backlog at a broker).
  std::size_t max_unacked = 16'384;
};

struct Figures {
  std::size_t inflight = 0;
  std::size_t unacked = 0;
  std::int64_t published = 0;  // publishes handed to the client (resends included)
  std::int64_t resent = 0;     // of which resends (failure or ack timeout)
  std::int64_t pubacks = 0;
  std::int64_t failures = 0;
  std::int64_t committed = 0;  // seqs acknowledged by the collector
};

// Order of sending: samples to resend first, oldest first; then, alternately, a chunk of the
// backlog (samples stored before the last connect, oldest first) and a chunk of the live
// samples (stored since, oldest first), so new samples are not starved behind a long backlog.
// Each of the two streams is in seq order. A publish id stays owned by the client until its
// single outcome arrives, across disconnects: it is never sent again before that.
class Publisher {
 public:
  Publisher(Options options, RowSource& rows, Transport& transport);

  // The client connected: samples stored until now form the backlog.
  void on_connected();
  // The client's outcome for a publish id (ok on PUBACK). Unknown ids are ignored.
  void on_delivered(std::uint64_t id, bool ok, Steady::time_point now);
  // delivery = committed: the collector committed these seqs. They become done (to delete);
  // they are never sent again by this publisher. Other modes ignore acks.
  void on_ack(const wire::Ack& ack);

  // Resends what the collector did not ack in time (committed), then fills the window while
  // `connected`. Returns how many publishes were handed to the transport.
  std::size_t pump(Steady::time_point now, bool connected);

  // Seq ranges whose delivery is confirmed since the last call: delete them from the outbox.
  std::vector<std::pair<std::int64_t, std::int64_t>> take_done();
  // Put back ranges that take_done() returned but that could not be deleted.
  void return_done(const std::vector<std::pair<std::int64_t, std::int64_t>>& ranges);

  // True when something could be sent now (window space and unsent rows possibly stored).
  bool has_work(bool connected) const;
  bool idle() const { return m_inflight.empty(); }

  Figures figures() const;

 private:
  bool window_full() const;
  bool send_row(const outbox::Row& row, bool resend);
  std::size_t send_resends();
  std::size_t send_stream(bool live, std::size_t limit);
  void erase_unsent(std::int64_t from, std::int64_t to_exclusive);

  Options m_options;
  RowSource& m_rows;
  Transport& m_transport;
  // Seqs never handed to the client in this process, as [first, end) intervals.
  std::map<std::int64_t, std::int64_t> m_unsent;
  std::int64_t m_live_from = 1;  // seqs >= this were stored after the last connect
  bool m_live_turn = false;
  std::map<std::uint64_t, std::int64_t> m_inflight;      // publish id -> seq
  std::map<std::int64_t, Steady::time_point> m_unacked;  // seq -> when its PUBACK came
  std::set<std::int64_t> m_resend;
  std::vector<std::int64_t> m_done;
  std::vector<std::pair<std::int64_t, std::int64_t>> m_done_ranges;
  Figures m_figures;
  Steady::time_point m_next_timeout_scan{};
};

}  // namespace streamtrack::agent::publish
