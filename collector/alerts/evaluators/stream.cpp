#include <algorithm>

#include "collector/alerts/evaluators/evaluators.hpp"
#include "collector/alerts/evaluators/text.hpp"
#include "common/util/duration.hpp"

namespace streamtrack::collector::alerts::evaluators {

namespace {

using std::chrono::milliseconds;

// Runs `judge(channel, "<platform>/<channel>", candidate)` for each channel the rule matches.
template <typename Judge>
std::vector<Candidate> each_channel(const EvalContext& cx, Judge judge) {
  return candidate_per_entry(
      cx.seen.channels,
      [&](const auto&, const ChannelHistory& c, Candidate& e) {
        if (!glob_match(cx.rule.match_platform, c.platform) ||
            !glob_match(cx.rule.match_channel, c.channel) ||
            !glob_match(cx.rule.match_agent, c.agent)) {
          return false;
        }
        e.key = {c.platform, c.channel};
        e.labels = {{"platform", c.platform}, {"channel", c.channel}, {"agent", c.agent}};
        return true;
      },
      [&](const auto&, const ChannelHistory& c, Candidate& e) {
        judge(c, c.platform + "/" + c.channel, e);
      });
}

// After a restart, a windowed value needs a full window of fresh data before it may clear an
// alert restored from the store (one older than what we have of the channel).
bool may_clear(const EvalContext& cx, const ChannelHistory& c, const Candidate& e) {
  if (c.last_ts - c.first_ts >= cx.rule.window) return true;
  const auto* restored = cx.open_alert(e.key);
  return restored == nullptr || restored->active_since > c.first_ts;
}

// The change of viewers within the window, in % of the lowest (spike) or highest (drop).
std::vector<Candidate> viewer_change(const EvalContext& cx, bool drop) {
  return each_channel(cx, [&](const ChannelHistory& c, const std::string& where, Candidate& e) {
    if (!c.live || c.viewers.empty()) {
      if (!c.live) cx.judge(e, 0.0);
      return;
    }
    const double current = c.viewers.back().value;
    double ref = current;
    for (const auto& p : c.viewers) {
      if (p.ts < c.last_ts - cx.rule.window) continue;
      ref = drop ? std::max(ref, p.value) : std::min(ref, p.value);
    }
    double pct = 0;
    if (drop) {
      pct = ref > 0 ? (ref - current) / ref * 100.0 : 0.0;
      e.summary = where + " viewers fell " + num(pct) + "% (" + num(ref) + " to " + num(current) +
                  ") within " + format_duration(cx.rule.window);
    } else {
      pct = (current - ref) / std::max(ref, 1.0) * 100.0;
      e.summary = where + " viewers rose " + num(pct) + "% (" + num(ref) + " to " + num(current) +
                  ") within " + format_duration(cx.rule.window);
    }
    if (!may_clear(cx, c, e) && !cx.exceeds(pct, true)) return;
    cx.judge(e, pct);
  });
}

}  // namespace

std::vector<Candidate> went_live(const EvalContext& cx) {
  return each_channel(cx, [](const ChannelHistory& c, const std::string& where, Candidate& e) {
    e.known = true;
    e.on = c.live;
    e.summary = where + " is live";
  });
}

std::vector<Candidate> went_offline(const EvalContext& cx) {
  return each_channel(cx, [&](const ChannelHistory& c, const std::string& where, Candidate& e) {
    e.known = true;
    e.on = !c.live && (c.seen_live || cx.open_alert(e.key) != nullptr);
    e.summary = where + " went offline";
  });
}

std::vector<Candidate> stale(const EvalContext& cx) {
  return each_channel(cx, [&](const ChannelHistory& c, const std::string& where, Candidate& e) {
    e.known = true;
    const auto silent = std::chrono::duration_cast<milliseconds>(cx.now - c.last_received);
    e.on = silent > cx.rule.window;
    e.value = seconds(silent);
    e.summary = where + " sent no sample for " + format_duration(silent);
  });
}

std::vector<Candidate> viewer_drop(const EvalContext& cx) {
  return viewer_change(cx, true);
}

std::vector<Candidate> viewer_spike(const EvalContext& cx) {
  return viewer_change(cx, false);
}

std::vector<Candidate> low_bitrate(const EvalContext& cx) {
  return each_channel(cx, [&](const ChannelHistory& c, const std::string& where, Candidate& e) {
    if (!c.live) {
      e.known = true;  // an offline stream has no bitrate to be low
      return;
    }
    if (c.bitrate) {
      cx.judge(e, *c.bitrate);
      e.summary = where + " bitrate " + num(*c.bitrate) + " kbps";
    }
  });
}

std::vector<Candidate> dropped_frames(const EvalContext& cx) {
  return each_channel(cx, [&](const ChannelHistory& c, const std::string& where, Candidate& e) {
    if (!c.live) {
      e.known = true;
      return;
    }
    if (c.frames.size() < 2) return;
    const auto& first = c.frames.front();
    const auto& last = c.frames.back();
    const double dropped = static_cast<double>(last.dropped - first.dropped);
    const double span = seconds(std::chrono::duration_cast<milliseconds>(last.ts - first.ts));
    double fps = 0;
    for (const auto& f : c.frames) fps += f.fps;
    fps /= static_cast<double>(c.frames.size());
    const double frames = dropped + fps * span;
    const double pct = frames > 0 ? dropped / frames * 100.0 : 0.0;
    if (!may_clear(cx, c, e) && !cx.exceeds(pct, true)) return;
    cx.judge(e, pct);
    e.summary = where + " dropped " + num(pct) + "% of frames";
  });
}

}  // namespace streamtrack::collector::alerts::evaluators
