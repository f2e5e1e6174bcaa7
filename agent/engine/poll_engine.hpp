#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <span>
#include <vector>

#include "agent/config/agent_config.hpp"
#include "agent/http/multi_client.hpp"
#include "agent/sources/source.hpp"
#include "common/util/backoff.hpp"
#include "common/util/time.hpp"
#include "common/wire/codec.hpp"

namespace streamtrack::agent {

// Polls every configured source on its own interval, concurrently, on one thread: one slow or
// dead endpoint never delays the others. Failures are counted per source and push that
// source's next poll out by an exponential backoff with full jitter (reset on success).
class PollEngine {
 public:
  struct Options {
    std::chrono::milliseconds backoff_base{1000};
    std::chrono::milliseconds backoff_cap{30'000};
    // Poll every source exactly once, all right away, then never again (--once).
    bool once = false;
    std::uint64_t seed = std::random_device{}();
  };

  // Builds every source through the registry. Throws config::ConfigError (all problems at
  // once) for settings only checkable now, such as an unreadable secret file.
  PollEngine(const AgentConfig& config, const Clock& clock);
  PollEngine(const AgentConfig& config, const Clock& clock, Options options);
  ~PollEngine();
  PollEngine(const PollEngine&) = delete;
  PollEngine& operator=(const PollEngine&) = delete;

  // One loop iteration: starts the polls that are due, performs network I/O and waits at most
  // `max_wait` (less when a poll becomes due; returns early when a request completes or a fd of
  // `extra_fds` is ready: how the daemon's signals and MQTT connection share the wait). Returns the
  // samples of each poll that finished successfully with at least one sample, one inner vector per
  // poll. Samples carry agent = config id, seq = 0, ts = when the answer arrived, platform = the
  // source type, and text made valid (wire::make_text_valid); a sample the wire still cannot carry
  // (a field over its limit) is dropped alone, logged and counted in PollReport::rejected. Never
  // throws for anything a source or server does.
  std::vector<std::vector<Sample>> step(std::chrono::milliseconds max_wait,
                                        std::span<http::WaitFd> extra_fds = {});

  // Per source: last success, polls, errors, consecutive errors, last error. Thread-safe.
  std::vector<wire::SourceHealth> health() const;

  // Until the earliest due poll that is not already running (0 when one is overdue).
  std::chrono::milliseconds time_until_next_poll() const;
  // Until step() wakes up for the next polls: the earliest due poll plus its source's timer
  // slack (1 % of its interval, 20 ms to 1 s). Every poll due by then starts in that step, so
  // the polls due close together start, finish and are stored together.
  std::chrono::milliseconds time_until_wake() const;

  // With Options::once: every source finished its poll.
  bool finished() const;

  // HTTP requests started and not finished yet.
  std::size_t requests_in_flight() const { return m_requests.size(); }

  // One finished poll, for metrics.
  struct PollReport {
    std::string source;
    std::string type;
    bool ok = false;
    std::chrono::steady_clock::duration duration{};
    std::size_t samples = 0;
    std::size_t rejected = 0;  // samples dropped because the wire cannot carry them
  };
  // The polls finished since the last call, oldest first.
  std::vector<PollReport> take_reports();

 private:
  struct SourceState;
  void start_due(std::chrono::steady_clock::time_point now, std::vector<std::vector<Sample>>& out);
  void start_poll(std::size_t index, std::vector<std::vector<Sample>>& out);
  void advance(std::size_t index, std::vector<std::vector<Sample>>& out);
  void finish(std::size_t index, sources::PollResult result, std::vector<std::vector<Sample>>& out);
  std::chrono::milliseconds jitter(std::chrono::milliseconds interval);

  std::string m_agent_id;
  const Clock& m_clock;
  Options m_options;
  std::mt19937_64 m_rng;
  http::MultiClient m_client;
  std::vector<std::unique_ptr<SourceState>> m_sources;
  std::map<http::MultiClient::Id, std::size_t> m_requests;  // request -> source index
  std::vector<PollReport> m_reports;
  mutable std::mutex m_health_mutex;  // guards the health fields
};

}  // namespace streamtrack::agent
