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
#include "common/util/outcome.hpp"
#include "common/util/result.hpp"
#include "common/wire/codec.hpp"
#include "common/wire/frame.hpp"

// Decides what leaves the outbox for the broker, and when a sample counts as delivered.
// Single-threaded: the daemon feeds it the client's events from its main loop.
namespace streamtrack::agent::publish {

using Steady = std::chrono::steady_clock;

// What the publisher reads from: the outbox (a fake in unit tests).
class RowSource {
 public:
  virtual ~RowSource() = default;
  // Up to `limit` stored rows with from <= seq < before, in seq order; an error when the
  // rows could not be read (then nothing may be concluded about them).
  virtual Result<std::vector<outbox::Row>> read(std::int64_t from, std::int64_t before,
                                                std::size_t limit) = 0;
  // The highest seq given out so far.
  virtual std::int64_t last_seq() const = 0;
  // Moves the row out of the queue into the dead-letter table with `reason`. Returns false
  // (the row stays queued) when that failed.
  virtual bool quarantine(std::int64_t seq, const std::string& reason) = 0;
};

// What the publisher sends through: mqtt::Client (a fake in unit tests).
class Transport {
 public:
  virtual ~Transport() = default;
  // sent: the id whose outcome will be reported once to Publisher::on_delivered; retry:
  // nothing sent, try later (not connected, queue full); reject: this message can never be
  // sent (invalid topic or payload).
  virtual mqtt::PublishResult publish(const mqtt::Message& message) = 0;
};

// What one ack message did. An ack is evidence, not an order: only seqs that this run of the
// agent published and still holds are applied.
struct AckReport {
  std::int64_t applied = 0;        // published by this run, still held: now done
  std::int64_t already_done = 0;   // published by this run, no longer held (duplicate ack)
  std::int64_t not_published = 0;  // <= last seq, never published by this run
  // Every seq of an ack that names any seq above the last one given out (a forger or another
  // agent with the same id): such an ack is not applied at all.
  std::int64_t beyond_last_seq = 0;
};

struct Options {
  std::size_t max_inflight = 256;  // QoS 1 publishes awaiting PUBACK
  Delivery delivery = Delivery::committed;
  std::chrono::milliseconds ack_timeout{60'000};
  // Most samples published and awaiting their PUBACK or (delivery = committed) the
  // collector's ack: beyond this the publisher waits instead of pushing the whole backlog at a
  // broker. With single samples max_inflight is the lower bound; frames carry many each.
  std::size_t max_unacked = 16'384;
  // Frames (wire/frame.hpp): with max_frame_samples >= 2 and a frame_topic, the backlog goes
  // out as frames of up to max_frame_samples samples and max_frame_bytes bytes (each clamped
  // to the contract's bound) whenever more than one of its samples waits; live samples and
  // resends always go alone on their metrics topics. Otherwise every sample goes alone.
  std::string agent;        // the frame's "agent": the agent id
  std::string frame_topic;  // <root>/<agent>/frames (Topics::frames)
  std::size_t max_frame_samples = 0;
  std::size_t max_frame_bytes = wire::k_max_frame_bytes;
};

struct Figures {
  std::size_t inflight = 0;  // publishes (single samples or frames) awaiting their outcome
  std::size_t unacked = 0;
  std::int64_t published =
      0;                    // samples handed to the client, alone or in frames (resends included)
  std::int64_t frames = 0;  // frames handed to the client
  std::int64_t framed = 0;  // of the published samples, those sent in frames
  std::int64_t resent = 0;  // of which resends (failure or ack timeout)
  std::int64_t pubacks = 0;
  std::int64_t failures = 0;
  std::int64_t committed = 0;    // seqs acknowledged by the collector
  std::int64_t quarantined = 0;  // rows refused for good, moved to the dead-letter table
  std::int64_t read_errors = 0;  // outbox reads that failed (retried later)
};

// Order of sending: samples to resend first, oldest first; then, alternately, a chunk of the
// backlog (samples stored before the last connect, oldest first; one frame when frames are on)
// and a chunk of the live samples (stored since, oldest first), so new samples are not starved
// behind a long backlog. A frame is one publish in the QoS 1 window; its PUBACK confirms each
// of its samples (delivery = broker), the collector acks them by seq (committed); a frame that
// fails, times out or is refused is sent again as single samples.
// Each of the two streams is in seq order. A publish id stays owned by the client until its
// single outcome arrives, across disconnects: it is never sent again before that.
class Publisher {
 public:
  Publisher(Options options, RowSource& rows, Transport& transport);

  // The client connected: samples stored until now form the backlog.
  void on_connected();
  // The client's outcome for a publish id (ok on PUBACK). Unknown ids (status and health
  // messages) are ignored: returns whether the id was one of the publisher's samples.
  bool on_delivered(std::uint64_t id, bool ok, Steady::time_point now);
  // The broker refused publish `id` for good (see mqtt::Handlers::refused): its row is
  // quarantined, or sent again if the dead-letter table cannot be written.
  void on_refused(std::uint64_t id, const std::string& reason);
  // delivery = committed: the collector committed these seqs. Those this run published and
  // still holds become done (to delete) and are never sent again; the rest is only counted.
  // Other modes ignore acks (an empty report).
  AckReport on_ack(const wire::Ack& ack);

  // Resends what the collector did not ack in time (committed), then fills the window while
  // `connected`. Returns how many publishes were handed to the transport.
  std::size_t pump(Steady::time_point now, bool connected);

  // Seq ranges whose delivery is confirmed since the last call: delete them from the outbox.
  std::vector<std::pair<std::int64_t, std::int64_t>> take_done();
  // Put back ranges that take_done() returned but that could not be deleted.
  void return_done(const std::vector<std::pair<std::int64_t, std::int64_t>>& ranges);

  // True when something could be sent now (window space and unsent rows possibly stored).
  bool has_work(bool connected) const;
  // When pump() next looks for acks that timed out (committed delivery, samples awaiting their
  // ack); nullopt when it has none to look for. The loop wakes up by then.
  std::optional<Steady::time_point> next_due() const;

  Figures figures() const;

 private:
  bool window_full() const;
  std::size_t samples_outstanding() const;
  // ok: handed to the transport; retry: not now (window, refusal for the moment, or the
  // quarantine could not be stored); error: the row itself was refused and quarantined.
  Outcome send_row(const outbox::Row& row, bool resend);
  void mark_done(std::int64_t seq);
  std::size_t send_resends();
  std::size_t send_stream(bool live, std::size_t limit);
  bool frames_on() const;
  std::size_t send_backlog_frame();
  void delivered_seq(std::int64_t seq, bool ok, Steady::time_point now);
  void erase_unsent(std::int64_t from, std::int64_t to_exclusive);

  Options m_options;
  std::string m_own_metrics;  // <root>/<agent>/metrics/: rows under it may go into frames
  RowSource& m_rows;
  Transport& m_transport;
  // Seqs never handed to the client in this process, as [first, end) intervals.
  std::map<std::int64_t, std::int64_t> m_unsent;
  std::int64_t m_live_from = 1;  // seqs >= this were stored after the last connect
  bool m_live_turn = false;
  // Seqs handed to the client in this process, as [first, end) intervals (never shrinks).
  std::map<std::int64_t, std::int64_t> m_published;
  // Of those, the ones not yet done: in flight, awaiting the collector's ack, or to resend.
  std::set<std::int64_t> m_held;
  std::map<std::uint64_t, std::int64_t> m_inflight;                      // publish id -> seq
  std::map<std::uint64_t, std::vector<std::int64_t>> m_inflight_frames;  // publish id -> seqs
  std::size_t m_inflight_framed = 0;                     // seqs in m_inflight_frames
  std::map<std::int64_t, Steady::time_point> m_unacked;  // seq -> when its PUBACK came
  std::set<std::int64_t> m_resend;
  std::vector<std::int64_t> m_done;
  std::vector<std::pair<std::int64_t, std::int64_t>> m_done_ranges;
  Figures m_figures;
  Steady::time_point m_next_timeout_scan{};
  // The backlog's frames, built in buffers kept from frame to frame (up to 256 KiB each).
  wire::FrameBuilder m_frame;
  std::string m_frame_payload;
};

}  // namespace streamtrack::agent::publish
