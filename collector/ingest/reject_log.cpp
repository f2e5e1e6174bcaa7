#include "collector/ingest/reject_log.hpp"

#include <algorithm>

#include "common/daemon/log.hpp"

namespace streamtrack::collector::ingest {

namespace {

// An agent id is at most 256 bytes (docs/mqtt.md); a longer name in a topic is no agent's and
// is logged with the untracked ones, so that remembered names stay small.
constexpr std::size_t k_max_agent_bytes = 256;
// Bytes of a topic or reason a line repeats (a reject keeps at most 1,024 bytes of its topic).
constexpr std::size_t k_max_field_bytes = 1024;

// `text` cut to at most `limit` bytes, never inside a UTF-8 sequence.
std::string cut(const std::string& text, std::size_t limit) {
  if (text.size() <= limit) return text;
  auto end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

std::string fields(const std::string& agent, std::uint64_t count, const std::string& topic,
                   std::size_t bytes, const std::string& reason) {
  return " agent=" + log::quote(agent) + " count=" + std::to_string(count) +
         " topic=" + log::quote(topic) + " bytes=" + std::to_string(bytes) +
         " reason=" + log::quote(reason);
}

}  // namespace

std::vector<std::string> RejectLog::record(std::span<const Item> items, Clock::time_point now) {
  // The agents of the message in the order of their first reject, each with its count.
  struct Agent {
    const Item* first;
    std::uint64_t count;
  };
  std::vector<Agent> agents;
  for (const auto& item : items) {
    if (item.kind != Item::Kind::reject) continue;
    auto it = std::find_if(agents.begin(), agents.end(),
                           [&](const Agent& a) { return a.first->agent == item.agent; });
    if (it == agents.end()) {
      agents.push_back({&item, 1});
    } else {
      ++it->count;
    }
  }
  std::vector<std::string> lines;
  if (agents.empty()) return lines;
  std::lock_guard lock(m_mutex);
  roll_window(now, lines);
  for (const auto& [first, count] : agents) record_agent(first->agent, count, *first, now, lines);
  return lines;
}

void RejectLog::record_agent(const std::string& agent, std::uint64_t count, const Item& first,
                             Clock::time_point now, std::vector<std::string>& lines) {
  Entry* entry = nullptr;
  bool untracked = false;
  if (const auto it = m_agents.find(agent); it != m_agents.end()) {
    entry = &it->second;
  } else if (agent.size() <= k_max_agent_bytes && m_agents.size() < m_options.max_agents) {
    entry =
        &m_agents.emplace(agent, Entry{now - m_options.interval, 0, std::nullopt}).first->second;
  } else {
    untracked = true;
    if (!m_untracked) m_untracked = Entry{now - m_options.interval, 0, std::nullopt};
    entry = &*m_untracked;
  }
  if (!due(*entry, now)) {
    if (entry->held == 0) {
      entry->first_held = First{cut(first.topic, k_max_field_bytes), first.payload_bytes,
                                cut(first.reason, k_max_field_bytes)};
      if (untracked) m_untracked_agent = cut(agent, k_max_agent_bytes);
    }
    entry->held += count;
    return;
  }
  const auto name = cut(agent, k_max_agent_bytes);
  const First shown{cut(first.topic, k_max_field_bytes), first.payload_bytes,
                    cut(first.reason, k_max_field_bytes)};
  auto line =
      std::string(untracked ? "ingest: rejected from untracked agents" : "ingest: rejected") +
      fields(name, count, shown.topic, shown.bytes, shown.reason);
  if (entry->held > 0) line += " suppressed=" + std::to_string(entry->held);
  const auto rejects = count + entry->held;
  *entry = Entry{now, 0, std::nullopt};
  admit(std::move(line), rejects, name, shown, lines);
}

void RejectLog::roll_window(Clock::time_point now, std::vector<std::string>& lines) {
  if (m_window && now - m_window->start < m_options.interval) return;
  if (m_window && m_window->held_lines > 0) {
    const auto& first = *m_window->first_held;
    lines.push_back("ingest: rejects suppressed by the global limit lines=" +
                    std::to_string(m_window->held_lines) +
                    " suppressed=" + std::to_string(m_window->held_rejects) +
                    " agent=" + log::quote(m_window->first_agent) +
                    " topic=" + log::quote(first.topic) + " bytes=" + std::to_string(first.bytes) +
                    " reason=" + log::quote(first.reason));
  }
  m_window = Window{now, 0, 0, 0, {}, std::nullopt};
}

void RejectLog::admit(std::string line, std::uint64_t rejects, const std::string& agent,
                      const First& first, std::vector<std::string>& lines) {
  auto& window = *m_window;
  if (window.lines < m_options.max_lines) {
    ++window.lines;
    lines.push_back(std::move(line));
    return;
  }
  if (window.held_lines == 0) {
    window.first_agent = agent;
    window.first_held = first;
  }
  ++window.held_lines;
  window.held_rejects += rejects;
}

std::vector<std::string> RejectLog::flush(Clock::time_point now) {
  std::vector<std::string> lines;
  const auto report = [&](const char* event, const std::string& agent, Entry& entry) {
    const auto first = *entry.first_held;
    const auto held = entry.held;
    entry = Entry{now, 0, std::nullopt};
    admit(std::string(event) + " agent=" + log::quote(agent) +
              " suppressed=" + std::to_string(held) + " topic=" + log::quote(first.topic) +
              " bytes=" + std::to_string(first.bytes) + " reason=" + log::quote(first.reason),
          held, agent, first, lines);
  };
  std::lock_guard lock(m_mutex);
  roll_window(now, lines);
  for (auto it = m_agents.begin(); it != m_agents.end();) {
    if (!due(it->second, now)) {
      ++it;
    } else if (it->second.held == 0) {
      it = m_agents.erase(it);
    } else {
      report("ingest: rejects suppressed", it->first, it->second);
      ++it;
    }
  }
  if (m_untracked && due(*m_untracked, now)) {
    if (m_untracked->held == 0) {
      m_untracked.reset();
    } else {
      report("ingest: rejects suppressed from untracked agents", m_untracked_agent, *m_untracked);
    }
  }
  return lines;
}

std::size_t RejectLog::tracked_agents() const {
  std::lock_guard lock(m_mutex);
  return m_agents.size();
}

}  // namespace streamtrack::collector::ingest
