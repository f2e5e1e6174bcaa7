#pragma once

#include <chrono>

// When the agent's loop gives the free pages inside its heap back to the system (malloc_trim).
// A burst of polls allocates and frees about a megabyte (transfers, responses, samples); glibc
// keeps the freed pages resident until a trim, so the heap stayed as large as its last burst.
// Trimming once the burst is over (no request in flight) keeps it at what stays allocated.
namespace streamtrack::agent {

class HeapTrimSchedule {
 public:
  using Clock = std::chrono::steady_clock;

  // Trims at most once per `min_gap` after polls finished, and otherwise at the first due()
  // `every` or more after the last trim (the schedule wakes nobody: how soon after that due()
  // is called is up to the caller's loop).
  HeapTrimSchedule(std::chrono::milliseconds min_gap, std::chrono::milliseconds every,
                   Clock::time_point now)
      : m_min_gap(min_gap), m_every(every), m_last(now) {}

  // Polls finished in this loop turn: their garbage waits for the next quiet turn.
  void polls_finished() { m_polled = true; }

  // True (and the schedule moved on) when the loop should trim now: polls finished since the
  // last trim, none is in flight (`quiet`) and min_gap passed; or `every` passed, whatever runs.
  bool due(Clock::time_point now, bool quiet) {
    const bool after_polls = m_polled && quiet && now - m_last >= m_min_gap;
    if (!after_polls && now - m_last < m_every) return false;
    m_last = now;
    m_polled = false;
    return true;
  }

 private:
  std::chrono::milliseconds m_min_gap;
  std::chrono::milliseconds m_every;
  Clock::time_point m_last;
  bool m_polled = false;
};

}  // namespace streamtrack::agent
