#include "agent/engine/poll_engine.hpp"

#include <algorithm>

#include "agent/sources/registry.hpp"
#include "common/config/schema.hpp"
#include "common/daemon/log.hpp"
#include "common/util/duration.hpp"

namespace streamtrack::agent {

using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

// Timer slack: a poll may start this much after it is due (1 % of its interval, 20 ms to 1 s),
// so that the polls due within it start, finish and are stored together.
milliseconds timer_slack(milliseconds interval) {
  return std::clamp(interval / 100, milliseconds{20}, milliseconds{1000});
}

struct PollEngine::SourceState {
  std::string name;
  std::string type;
  milliseconds interval{};
  milliseconds slack{};  // timer_slack(interval), which time_until_wake() reads every loop turn
  std::unique_ptr<sources::Source> source;
  std::unique_ptr<sources::Poll> poll;  // the poll in flight, if any
  // Nominal start of the current or last poll: the first poll's time plus whole intervals
  // (the jitter of each poll is added to its slot, never carried into the next).
  steady::time_point slot{};
  steady::time_point next_due{};
  steady::time_point started{};  // when the poll in flight began
  Backoff backoff;
  bool polled_once = false;
  wire::SourceHealth health;  // guarded by m_health_mutex
};

namespace {

std::string duration_text(milliseconds d) {
  const auto ms = d.count();
  return std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 / 100) + "s";
}

}  // namespace

PollEngine::PollEngine(const AgentConfig& config, const Clock& clock)
    : PollEngine(config, clock, Options{}) {}

PollEngine::PollEngine(const AgentConfig& config, const Clock& clock, Options options)
    : m_agent_id(config.id), m_clock(clock), m_options(options), m_rng(options.seed) {
  std::vector<std::string> problems;
  const auto now = m_clock.steady_now();
  for (const auto& sc : config.sources) {
    const SourceTypeInfo* info = find_source_type(sc.type);
    if (!info || !info->create) {
      problems.push_back(config.path + ": source \"" + sc.name + "\": type: \"" + sc.type +
                         "\" cannot be polled by this build");
      continue;
    }
    auto state = std::make_unique<SourceState>(SourceState{
        .name = sc.name,
        .type = sc.type,
        .interval = sc.interval,
        .slack = timer_slack(sc.interval),
        .source = nullptr,
        .poll = nullptr,
        .slot = now,
        .next_due = now,
        .backoff = Backoff(m_options.backoff_base, m_options.backoff_cap, m_rng()),
        .polled_once = false,
        .health = {},
    });
    state->health.name = sc.name;
    state->health.type = sc.type;
    try {
      state->source = info->create(sc, config.path);
    } catch (const config::ConfigError& e) {
      problems.insert(problems.end(), e.messages().begin(), e.messages().end());
      continue;
    }
    // Spread the first polls a little so that many sources do not fire in one burst.
    if (!m_options.once) state->next_due = now + jitter(std::min(sc.interval, milliseconds{1000}));
    m_sources.push_back(std::move(state));
  }
  if (!problems.empty()) throw config::ConfigError(std::move(problems));
}

PollEngine::~PollEngine() = default;

milliseconds PollEngine::jitter(milliseconds interval) {
  const auto range = interval.count() / 10;
  if (range <= 0) return milliseconds{0};
  std::uniform_int_distribution<std::int64_t> pick(0, range);
  return milliseconds{pick(m_rng)};
}

void PollEngine::start_due(steady::time_point now, std::vector<std::vector<Sample>>& out) {
  for (std::size_t i = 0; i < m_sources.size(); ++i) {
    auto& s = *m_sources[i];
    if (s.poll || s.next_due > now) continue;
    if (m_options.once && s.polled_once) continue;
    start_poll(i, out);
  }
}

void PollEngine::start_poll(std::size_t index, std::vector<std::vector<Sample>>& out) {
  auto& s = *m_sources[index];
  s.polled_once = true;
  s.started = m_clock.steady_now();
  try {
    s.poll = s.source->start_poll();
  } catch (const std::exception& e) {
    s.poll.reset();
    finish(index, sources::PollResult::failure(std::string("internal error: ") + e.what()), out);
    return;
  }
  advance(index, out);
}

// Sends the poll's next request, or finishes it when it has none.
void PollEngine::advance(std::size_t index, std::vector<std::vector<Sample>>& out) {
  auto& s = *m_sources[index];
  try {
    if (auto request = s.poll->next_request()) {
      const auto id = m_client.start(*request);
      m_requests.emplace(id, index);
      if (log::enabled(log::Level::debug)) {
        log::debug("poll request source=" + s.name + " url=" + log::quote(request->url));
      }
      return;
    }
    auto result = s.poll->result();
    s.poll.reset();
    finish(index, std::move(result), out);
  } catch (const std::exception& e) {
    s.poll.reset();
    finish(index, sources::PollResult::failure(std::string("internal error: ") + e.what()), out);
  }
}

void PollEngine::finish(std::size_t index, sources::PollResult result,
                        std::vector<std::vector<Sample>>& out) {
  auto& s = *m_sources[index];
  const auto wall = m_clock.now();
  const auto now = m_clock.steady_now();
  std::size_t rejected = 0;
  if (result) {
    // One sample the wire cannot carry is dropped on its own; the rest of the round stands.
    auto& samples = *result;
    std::vector<Sample> usable;
    usable.reserve(samples.size());
    for (auto& sample : samples) {
      sample.agent = m_agent_id;
      sample.seq = 0;
      sample.ts = wall;
      sample.platform = s.type;
      wire::make_text_valid(sample);
      // Checked as the collector's decoder would, so nothing undecodable reaches the outbox.
      if (auto problem = wire::sample_problem(sample)) {
        ++rejected;
        log::warning("sample rejected source=" + s.name + " type=" + s.type + " channel=" +
                     log::quote(sample.channel.substr(0, 64)) + " reason=" + log::quote(*problem));
        continue;
      }
      usable.push_back(std::move(sample));
    }
    samples = std::move(usable);
  }

  m_reports.push_back({s.name, s.type, result.ok(), now - s.started,
                       result ? result->size() : std::size_t{0}, rejected});
  while (s.slot <= now) s.slot += s.interval;
  std::int64_t consecutive = 0;
  {
    std::lock_guard lock(m_health_mutex);
    ++s.health.polls;
    if (result) {
      consecutive = s.health.consecutive_errors;
      s.health.last_success = wall;
      s.health.consecutive_errors = 0;
    } else {
      ++s.health.errors;
      consecutive = ++s.health.consecutive_errors;
      s.health.last_error = result.error();
    }
  }
  if (result) {
    s.backoff.reset();
    s.next_due = s.slot + jitter(s.interval);
    if (consecutive > 0) {
      log::notice("source recovered source=" + s.name + " type=" + s.type +
                  " after_errors=" + std::to_string(consecutive));
    }
    if (!result->empty()) out.push_back(std::move(result).value());
    return;
  }
  const auto delay = s.backoff.next_delay();
  s.next_due = s.slot + delay;
  const auto wait =
      std::max(milliseconds{0}, std::chrono::duration_cast<milliseconds>(s.next_due - now));
  log::warning("poll failed source=" + s.name + " type=" + s.type +
               " consecutive_errors=" + std::to_string(consecutive) +
               (m_options.once ? std::string() : " next_poll_in=" + duration_text(wait)) +
               " error=" + log::quote(result.error()));
}

std::vector<std::vector<Sample>> PollEngine::step(milliseconds max_wait,
                                                  std::span<http::WaitFd> extra_fds) {
  std::vector<std::vector<Sample>> out;
  start_due(m_clock.steady_now(), out);
  const auto wait = std::min(max_wait, time_until_wake());
  for (auto& completion : m_client.perform(wait, extra_fds)) {
    const auto it = m_requests.find(completion.id);
    if (it == m_requests.end()) continue;
    const std::size_t index = it->second;
    m_requests.erase(it);
    auto& s = *m_sources[index];
    if (!s.poll) continue;
    try {
      s.poll->on_outcome(completion.reply, m_clock.now());
    } catch (const std::exception& e) {
      s.poll.reset();
      finish(index, sources::PollResult::failure(std::string("internal error: ") + e.what()), out);
      continue;
    }
    advance(index, out);
  }
  start_due(m_clock.steady_now(), out);
  return out;
}

std::vector<wire::SourceHealth> PollEngine::health() const {
  std::lock_guard lock(m_health_mutex);
  std::vector<wire::SourceHealth> out;
  out.reserve(m_sources.size());
  for (const auto& s : m_sources) out.push_back(s->health);
  return out;
}

milliseconds PollEngine::time_until_next_poll() const {
  const auto now = m_clock.steady_now();
  milliseconds best = milliseconds::max();
  for (const auto& s : m_sources) {
    if (s->poll || (m_options.once && s->polled_once)) continue;
    const auto left = std::chrono::duration_cast<milliseconds>(s->next_due - now);
    best = std::min(best, std::max(left, milliseconds{0}));
  }
  return best;
}

milliseconds PollEngine::time_until_wake() const {
  const auto now = m_clock.steady_now();
  milliseconds best = milliseconds::max();
  for (const auto& s : m_sources) {
    if (s->poll || (m_options.once && s->polled_once)) continue;
    const auto left = std::chrono::duration_cast<milliseconds>(s->next_due + s->slack - now);
    best = std::min(best, std::max(left, milliseconds{0}));
  }
  return best;
}

std::vector<PollEngine::PollReport> PollEngine::take_reports() {
  return std::exchange(m_reports, {});
}

bool PollEngine::finished() const {
  return std::all_of(m_sources.begin(), m_sources.end(),
                     [](const auto& s) { return s->polled_once && !s->poll; });
}

}  // namespace streamtrack::agent
