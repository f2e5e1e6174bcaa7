#include "collector/alerts/evaluators/evaluators.hpp"
#include "collector/alerts/evaluators/text.hpp"
#include "common/util/duration.hpp"

namespace streamtrack::collector::alerts::evaluators {

namespace {

using std::chrono::milliseconds;

// Runs `judge(name, agent, candidate)` for each agent the rule matches.
template <typename Judge>
std::vector<Candidate> each_agent(const EvalContext& cx, Judge judge) {
  return candidate_per_entry(
      cx.seen.agents,
      [&](const std::string& name, const auto&, Candidate& e) {
        if (!glob_match(cx.rule.match_agent, name)) return false;
        e.key = {name};
        e.labels = {{"agent", name}};
        return true;
      },
      judge);
}

}  // namespace

std::vector<Candidate> agent_offline(const EvalContext& cx) {
  return each_agent(cx, [&](const std::string& name, const AgentHistory& a, Candidate& e) {
    const auto silent = std::chrono::duration_cast<milliseconds>(cx.now - a.last_seen);
    const bool will = a.state == "offline";
    const bool quiet = cx.rule.window.count() > 0 && silent > cx.rule.window;
    e.known = a.state.has_value() || a.last_seen != TimePoint{};
    e.on = will || quiet;
    e.summary = "agent " + name + " is offline (" +
                (will ? "status offline" + (a.reason ? ": " + *a.reason : std::string())
                      : "silent for " + format_duration(silent)) +
                ")";
  });
}

std::vector<Candidate> backlog(const EvalContext& cx) {
  return each_agent(cx, [&](const std::string& name, const AgentHistory& a, Candidate& e) {
    if (!a.health) return;
    const double depth = static_cast<double>(a.health->buffer_depth);
    const double age = a.health->oldest_unsent_age_s.value_or(0.0);
    e.known = true;
    e.value = depth;
    const bool by_depth = (cx.rule.threshold > 0 || cx.rule.resolve_threshold > 0) &&
                          cx.exceeds(depth, cx.open_alert(e.key) != nullptr);
    const bool by_age = cx.rule.max_age.count() > 0 && age > seconds(cx.rule.max_age);
    e.on = by_depth || by_age;
    e.summary = "agent " + name + " outbox holds " + num(depth) + " samples, oldest unsent " +
                num(age) + " s";
  });
}

std::vector<Candidate> poll_errors(const EvalContext& cx) {
  std::vector<Candidate> out;
  for (const auto& [name, a] : cx.seen.agents) {
    if (!glob_match(cx.rule.match_agent, name)) continue;
    for (const auto& [source, points] : a.polls) {
      Candidate e;
      e.key = {name, source};
      e.labels = {{"agent", name}, {"source", source}};
      if (points.size() >= 2) {
        const double polls = points.back().total - points.front().total;
        const double errors = points.back().bad - points.front().bad;
        if (polls > 0) {
          cx.judge(e, errors / polls * 100.0);
          e.summary = "agent ";
          e.summary.append(name).append(" source ").append(source).append(": ");
          e.summary.append(num(*e.value)).append("% of polls failed");
        }
      }
      out.push_back(std::move(e));
    }
  }
  return out;
}

}  // namespace streamtrack::collector::alerts::evaluators
