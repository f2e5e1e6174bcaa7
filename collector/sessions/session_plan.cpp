#include "collector/sessions/session_plan.hpp"

#include <algorithm>
#include <numeric>

namespace streamtrack::collector::sessions {

std::string session_key(const Sample& s) {
  if (s.stream_id && !s.stream_id->empty()) return "id:" + *s.stream_id;
  if (s.started_at) return "start:" + format_rfc3339(*s.started_at);
  return {};
}

std::vector<SessionStep> plan_channel(const std::vector<const Sample*>& samples,
                                      std::chrono::milliseconds offline_timeout) {
  std::vector<std::size_t> order(samples.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return samples[a]->ts < samples[b]->ts; });

  std::vector<SessionStep> steps;
  SessionStep* open = nullptr;
  for (const auto i : order) {
    const Sample& s = *samples[i];
    if (!s.live) {
      SessionStep off;
      off.kind = SessionStep::Kind::offline;
      off.first = off.last = s.ts;
      off.samples.push_back(i);
      steps.push_back(std::move(off));
      open = nullptr;
      continue;
    }
    const std::string key = session_key(s);
    const bool continues =
        open && open->key == key && (!key.empty() || s.ts - open->last <= offline_timeout);
    if (!continues) {
      SessionStep step;
      step.key = key;
      step.stream_id = s.stream_id;
      step.started_at = s.started_at;
      step.first = s.ts;
      steps.push_back(std::move(step));
      open = &steps.back();
    }
    open->last = s.ts;
    open->samples.push_back(i);
    if (s.title) open->title = s.title;
    if (s.category) open->category = s.category;
    if (s.viewers && (!open->peak_viewers || *s.viewers > *open->peak_viewers)) {
      open->peak_viewers = s.viewers;
    }
  }
  return steps;
}

}  // namespace streamtrack::collector::sessions
