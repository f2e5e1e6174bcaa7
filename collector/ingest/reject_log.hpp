#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "collector/ingest/item.hpp"

namespace streamtrack::collector::ingest {

// The log lines of rejects, summarised and rate-limited, so that a flood of bad messages costs
// a bounded number of lines whatever an agent sends: one line per message for all its rejects
// (a frame of 1,000 bad elements is one line), and at most one line per agent per `interval`;
// the rejects held back meanwhile are counted and reported with the agent's next line. Across
// all agents, at most `max_lines` lines per `interval` (a window, starting with the first call
// after the previous window ended): a line beyond them is not returned, its rejects are summed
// into one summary line when the window ends, and the agent's interval runs as if it had been
// printed. So however many agent names a flood uses, it costs at most max_lines + 1 lines an
// interval, and every reject is in the figures of some line. Every reject is still counted in
// /metrics and stored in ingest_rejects: this decides log lines only. I/O-free (the caller
// logs the lines it returns) and thread-safe.
//
// Lines (key=value; topic, bytes and reason are those of the first reject the line stands for):
//   ingest: rejected agent=A count=N topic=T bytes=B reason=R [suppressed=H]
//     N rejects of one message; H rejects of A held back since its previous line.
//   ingest: rejects suppressed agent=A suppressed=H topic=T bytes=B reason=R
//     from flush(): the H rejects of A held back during an interval that has ended.
//   ingest: rejects suppressed by the global limit lines=L suppressed=H agent=A topic=T ...
//     when a window ends (from record() or flush(), before their other lines): L lines beyond
//     max_lines were not returned, standing for H rejects; agent, topic, bytes and reason are
//     those of the first of them.
// Agents beyond `max_agents` tracked at once share one entry, logged as
// "ingest: rejected from untracked agents ..." with agent= the first of them.
class RejectLog {
 public:
  using Clock = std::chrono::steady_clock;

  struct Options {
    std::chrono::milliseconds interval{10'000};  // at most one line per agent per interval
    std::size_t max_agents = 1024;               // agents remembered at once (memory bound)
    std::size_t max_lines = 50;  // lines per interval across all agents, the summary aside
  };

  RejectLog() : RejectLog(Options{}) {}
  explicit RejectLog(Options options) : m_options(options) {}

  // The rejects among `items` (what one MQTT message gave, in order) at `now`: at most one
  // line per agent among them, none for an agent that had a line less than `interval` ago.
  std::vector<std::string> record(std::span<const Item> items, Clock::time_point now);

  // For the main loop, about once a second: a "rejects suppressed" line for each agent whose
  // interval has ended with rejects held back. Agents with nothing held back and no line for a
  // whole interval are forgotten.
  std::vector<std::string> flush(Clock::time_point now);

  // Agents remembered now (for tests of the memory bound).
  std::size_t tracked_agents() const;

 private:
  // The first reject a line stands for.
  struct First {
    std::string topic;
    std::size_t bytes = 0;
    std::string reason;
  };
  struct Entry {
    Clock::time_point last_line{};  // when this agent's last line was returned
    std::uint64_t held = 0;         // rejects since then without a line
    std::optional<First> first_held;
  };

  // The lines returned and held back in the current window, across agents.
  struct Window {
    Clock::time_point start{};
    std::size_t lines = 0;
    std::uint64_t held_lines = 0;
    std::uint64_t held_rejects = 0;
    std::string first_agent;  // of the first line held back
    std::optional<First> first_held;
  };

  void record_agent(const std::string& agent, std::uint64_t count, const Item& first,
                    Clock::time_point now, std::vector<std::string>& lines);
  // Ends the window once `interval` has passed since it started, with its summary line when
  // lines were held back; starts the first window.
  void roll_window(Clock::time_point now, std::vector<std::string>& lines);
  // Appends `line` (for `rejects` rejects, the first from `agent` and `first`) if the window
  // has room, else holds it back for the window's summary.
  void admit(std::string line, std::uint64_t rejects, const std::string& agent, const First& first,
             std::vector<std::string>& lines);
  bool due(const Entry& entry, Clock::time_point now) const {
    return now - entry.last_line >= m_options.interval;
  }

  Options m_options;
  mutable std::mutex m_mutex;
  std::map<std::string, Entry, std::less<>> m_agents;
  std::optional<Entry> m_untracked;  // every agent beyond max_agents
  std::string m_untracked_agent;     // the first agent m_untracked's held rejects came from
  std::optional<Window> m_window;    // none before the first line
};

}  // namespace streamtrack::collector::ingest
