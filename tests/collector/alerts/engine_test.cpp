#include "collector/alerts/engine.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/util/time.hpp"

namespace streamtrack::collector::alerts {
namespace {

using namespace std::chrono_literals;

class EngineTest : public ::testing::Test {
 protected:
  ManualClock m_clock{*parse_rfc3339("2026-11-25T10:00:00Z")};
  std::int64_t m_seq = 0;

  static Rule rule(const std::string& name, RuleKind kind) {
    Rule r;
    r.name = name;
    r.kind = kind;
    return r;
  }

  Sample sample(const std::string& channel, bool live, std::optional<std::int64_t> viewers = {},
                const std::string& agent = "a1") {
    Sample s;
    s.agent = agent;
    s.seq = ++m_seq;
    s.ts = m_clock.now();
    s.platform = "twitch";
    s.channel = channel;
    s.live = live;
    s.viewers = viewers;
    return s;
  }

  void feed(AlertEngine& e, const Sample& s) { e.observe_sample(s, m_clock.now()); }

  std::vector<Notification> step(AlertEngine& e, std::chrono::milliseconds d = 1s) {
    m_clock.advance(d);
    return e.tick(m_clock.now());
  }

  static std::vector<std::string> events(const std::vector<Notification>& notes) {
    std::vector<std::string> out;
    for (const auto& n : notes) {
      out.push_back(std::string(event_name(n.event)) + " " + n.alert.id());
    }
    return out;
  }
};

TEST_F(EngineTest, ViewerDropGoesPendingFiringRepeatResolved) {
  auto r = rule("drop", RuleKind::viewer_drop);
  r.threshold = 50;
  r.resolve_threshold = 50;
  r.window = 30min;
  r.for_duration = 30s;
  r.repeat_interval = 10min;
  AlertEngine e({r}, "c1");

  feed(e, sample("foo", true, 1000));
  EXPECT_TRUE(step(e, 10s).empty());
  feed(e, sample("foo", true, 400));  // a 60 % fall
  EXPECT_TRUE(step(e, 1s).empty());
  ASSERT_EQ(e.alerts().size(), 1u);
  EXPECT_EQ(e.alerts()[0].state, AlertState::pending);
  EXPECT_NEAR(*e.alerts()[0].value, 60.0, 1e-9);

  EXPECT_TRUE(step(e, 20s).empty());  // still within `for`
  auto notes = step(e, 10s);
  ASSERT_EQ(events(notes), std::vector<std::string>{"firing drop/twitch/foo"});
  EXPECT_EQ(notes[0].alert.labels.at("alertname"), "drop");
  EXPECT_EQ(notes[0].alert.labels.at("channel"), "foo");
  EXPECT_EQ(notes[0].alert.labels.at("agent"), "a1");
  EXPECT_EQ(notes[0].alert.labels.at("severity"), "warning");
  EXPECT_NE(notes[0].alert.summary.find("fell 60%"), std::string::npos) << notes[0].alert.summary;

  // Deduplicated: further ticks and samples while firing send nothing until repeat_interval.
  for (int i = 0; i < 9; ++i) {
    feed(e, sample("foo", true, 400));
    EXPECT_TRUE(step(e, 1min).empty()) << i;
  }
  EXPECT_EQ(events(step(e, 1min)), std::vector<std::string>{"repeat drop/twitch/foo"});

  // The 1000 leaves the window: the fall is no longer visible, the alert resolves.
  m_clock.advance(20min);
  feed(e, sample("foo", true, 400));
  notes = step(e, 1s);
  ASSERT_EQ(events(notes), std::vector<std::string>{"resolved drop/twitch/foo"});
  ASSERT_TRUE(notes[0].alert.fired_at && notes[0].alert.resolved_at);
  EXPECT_EQ(*notes[0].alert.resolved_at - *notes[0].alert.fired_at, 30min + 1s);
  EXPECT_TRUE(e.alerts().empty());
  EXPECT_TRUE(step(e, 1min).empty());
}

// SIGHUP: a removed rule's firing alert resolves (and says so), a kept rule's alert carries on
// without a second "firing" and takes its new severity, an added rule starts evaluating.
TEST_F(EngineTest, SetRulesKeepsAlertsOfKeptRulesAndResolvesThoseOfRemovedOnes) {
  auto offline = rule("offline", RuleKind::went_offline);
  auto live = rule("live", RuleKind::went_live);
  AlertEngine e({offline, live}, "c1");
  feed(e, sample("foo", true, 10));
  feed(e, sample("bar", true, 10));
  EXPECT_THAT(events(step(e)),
              ::testing::UnorderedElementsAre("firing live/twitch/bar", "firing live/twitch/foo"));
  feed(e, sample("bar", false));
  EXPECT_THAT(events(step(e)), ::testing::UnorderedElementsAre("firing offline/twitch/bar",
                                                               "resolved live/twitch/bar"));

  live.severity = "error";
  auto drop = rule("drop", RuleKind::viewer_drop);
  drop.threshold = 50;
  drop.resolve_threshold = 50;
  drop.window = 30min;
  e.set_rules({live, drop}, m_clock.now());
  feed(e, sample("foo", true, 10));
  EXPECT_EQ(events(step(e)), std::vector<std::string>{"resolved offline/twitch/bar"});
  ASSERT_EQ(e.alerts().size(), 1u);
  EXPECT_EQ(e.alerts()[0].id(), "live/twitch/foo");
  EXPECT_EQ(e.alerts()[0].severity, "error");

  feed(e, sample("foo", true, 2));
  EXPECT_EQ(events(step(e)), std::vector<std::string>{"firing drop/twitch/foo"});
}

// The rule is gone by the time its retired resolution is delivered: the notification carries
// the webhooks it named, so it does not go to every webhook.
TEST_F(EngineTest, RemovedRulesResolutionCarriesItsWebhooks) {
  auto live = rule("live", RuleKind::went_live);
  live.webhooks = {"pager"};
  auto offline = rule("offline", RuleKind::went_offline);
  AlertEngine e({live, offline}, "c1");
  feed(e, sample("foo", true, 10));
  const auto fired = step(e);
  ASSERT_EQ(events(fired), std::vector<std::string>{"firing live/twitch/foo"});
  EXPECT_EQ(fired[0].retired_webhooks, std::nullopt);

  e.set_rules({offline}, m_clock.now());
  const auto notes = step(e);
  ASSERT_EQ(events(notes), std::vector<std::string>{"resolved live/twitch/foo"});
  EXPECT_EQ(notes[0].retired_webhooks, std::vector<std::string>{"pager"});
}

TEST_F(EngineTest, PendingThatClearsNeverNotifies) {
  auto r = rule("drop", RuleKind::viewer_drop);
  r.threshold = 50;
  r.resolve_threshold = 50;
  r.window = 1min;
  r.for_duration = 1min;
  AlertEngine e({r}, "c1");
  feed(e, sample("foo", true, 100));
  feed(e, sample("foo", true, 10));
  EXPECT_TRUE(step(e).empty());
  EXPECT_EQ(e.alerts().size(), 1u);
  feed(e, sample("foo", true, 100));
  EXPECT_TRUE(step(e).empty());
  EXPECT_TRUE(e.alerts().empty());
  const auto changes = e.take_changes();
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[1].state, AlertState::resolved);
  EXPECT_FALSE(changes[1].fired_at);  // never an episode: the store deletes it
}

TEST_F(EngineTest, HysteresisKeepsAValueHoveringAtTheLimitFromFlapping) {
  auto with = rule("bitrate", RuleKind::low_bitrate);
  with.threshold = 1000;
  with.resolve_threshold = 1500;
  auto without = rule("bitrate-flappy", RuleKind::low_bitrate);
  without.threshold = 1000;
  without.resolve_threshold = 1000;
  AlertEngine e({with, without}, "c1");

  int with_notes = 0;
  int without_notes = 0;
  for (const double kbps : {900.0, 1050.0, 950.0, 1100.0, 980.0, 1200.0, 990.0, 1600.0}) {
    auto s = sample("foo", true, 10);
    s.bitrate_kbps = kbps;
    feed(e, s);
    for (const auto& n : step(e)) {
      (n.alert.rule == "bitrate" ? with_notes : without_notes)++;
    }
  }
  EXPECT_EQ(with_notes, 2);     // fired at 900, resolved only at 1600
  EXPECT_EQ(without_notes, 8);  // fired and resolved four times
}

TEST_F(EngineTest, KeepFiringForBridgesShortClears) {
  auto r = rule("live", RuleKind::went_live);
  r.keep_firing_for = 2min;
  AlertEngine e({r}, "c1");
  feed(e, sample("foo", true, 1));
  EXPECT_EQ(events(step(e)), std::vector<std::string>{"firing live/twitch/foo"});
  feed(e, sample("foo", false));
  EXPECT_TRUE(step(e, 1min).empty());
  feed(e, sample("foo", true, 1));  // back before keep_firing_for ran out
  EXPECT_TRUE(step(e, 1min).empty());
  feed(e, sample("foo", false));
  EXPECT_TRUE(step(e, 1min).empty());  // cleared from here
  EXPECT_TRUE(step(e, 1min).empty());
  const auto notes = step(e, 1min);
  ASSERT_EQ(events(notes), std::vector<std::string>{"resolved live/twitch/foo"});
}

TEST_F(EngineTest, WentOfflineNeedsAChannelSeenLive) {
  auto r = rule("offline", RuleKind::went_offline);
  AlertEngine e({r}, "c1");
  feed(e, sample("never-live", false));
  EXPECT_TRUE(step(e).empty());
  feed(e, sample("foo", true, 5));
  EXPECT_TRUE(step(e).empty());
  feed(e, sample("foo", false));
  EXPECT_EQ(events(step(e)), std::vector<std::string>{"firing offline/twitch/foo"});
  feed(e, sample("foo", true, 5));
  EXPECT_EQ(events(step(e)), std::vector<std::string>{"resolved offline/twitch/foo"});
}

TEST_F(EngineTest, StaleFiresForASilentTrackedChannel) {
  auto r = rule("stale", RuleKind::stale);
  r.window = 2min;
  AlertEngine e({r}, "c1");
  feed(e, sample("foo", true, 5));
  EXPECT_TRUE(step(e, 2min).empty());
  EXPECT_EQ(events(step(e, 1s)), std::vector<std::string>{"firing stale/twitch/foo"});
  feed(e, sample("foo", true, 5));
  EXPECT_EQ(events(step(e, 1s)), std::vector<std::string>{"resolved stale/twitch/foo"});
}

TEST_F(EngineTest, ChannelsThatDisappearAreForgottenAndTheirAlertsResolve) {
  AlertEngine e({rule("live", RuleKind::went_live)}, "c1");
  e.set_forget_after(1h);
  feed(e, sample("foo", true, 5));
  feed(e, sample("bar", true, 5));
  EXPECT_EQ(events(step(e, 1s)),
            (std::vector<std::string>{"firing live/twitch/bar", "firing live/twitch/foo"}));
  step(e, 30min);
  feed(e, sample("bar", true, 5));  // bar keeps sending; foo's agent was removed
  EXPECT_TRUE(step(e, 29min).empty());
  // An hour after its last sample, foo is forgotten: its alert resolves and nothing of it stays.
  EXPECT_EQ(events(step(e, 2min)), std::vector<std::string>{"resolved live/twitch/foo"});
  ASSERT_EQ(e.alerts().size(), 1u);
  EXPECT_EQ(e.alerts()[0].id(), "live/twitch/bar");
  EXPECT_EQ(e.tracked_channels(), 1u);
}

TEST_F(EngineTest, AMissingPartitionFiresUntilMaintenanceMakesIt) {
  AlertEngine e({rule("partitions", RuleKind::missing_partition)}, "c1");
  e.observe_collector({.missing_partitions = 0}, m_clock.now());
  EXPECT_TRUE(step(e).empty());
  e.observe_collector({.missing_partitions = 1}, m_clock.now());
  const auto notes = step(e);
  EXPECT_EQ(events(notes), std::vector<std::string>{"firing partitions/c1"});
  EXPECT_EQ(notes[0].alert.summary, "1 monthly partition(s) of livestream_metrics missing");
  e.observe_collector({.missing_partitions = 0}, m_clock.now());
  EXPECT_EQ(events(step(e)), std::vector<std::string>{"resolved partitions/c1"});
}

TEST_F(EngineTest, MatcherSelectsChannels) {
  auto r = rule("live", RuleKind::went_live);
  r.match_channel = "team-*";
  r.match_agent = "a1";
  AlertEngine e({r}, "c1");
  feed(e, sample("team-red", true, 1));
  feed(e, sample("other", true, 1));
  feed(e, sample("team-blue", true, 1, "a2"));
  EXPECT_EQ(events(step(e)), std::vector<std::string>{"firing live/twitch/team-red"});
}

TEST_F(EngineTest, AgentOfflineInhibitsThatAgentsStreamAlerts) {
  auto offline = rule("agent-down", RuleKind::agent_offline);
  auto stale = rule("stale", RuleKind::stale);
  stale.window = 30s;
  AlertEngine e({offline, stale}, "c1");
  e.observe_status("a1", {.state = "online"}, m_clock.now());
  e.observe_status("a2", {.state = "online"}, m_clock.now());
  feed(e, sample("foo", true, 5, "a1"));
  feed(e, sample("bar", true, 5, "a2"));
  EXPECT_TRUE(step(e).empty());

  e.observe_status("a1", {.state = "offline"}, m_clock.now());  // its Last Will
  EXPECT_EQ(events(step(e)), std::vector<std::string>{"firing agent-down/a1"});
  feed(e, sample("bar", true, 5, "a2"));
  // foo (a1) and bar stay silent long enough to be stale; only bar's alert is sent.
  EXPECT_EQ(events(step(e, 40s)), std::vector<std::string>{"firing stale/twitch/bar"});
  bool foo_inhibited = false;
  for (const auto& a : e.alerts()) {
    if (a.id() == "stale/twitch/foo") foo_inhibited = a.state == AlertState::firing && a.inhibited;
  }
  EXPECT_TRUE(foo_inhibited);

  // The agent comes back but foo stays silent: the held-back alert is sent now.
  e.observe_status("a1", {.state = "online"}, m_clock.now());
  EXPECT_EQ(events(step(e)),
            (std::vector<std::string>{"resolved agent-down/a1", "firing stale/twitch/foo"}));
}

TEST_F(EngineTest, AgentOfflineBySilence) {
  auto r = rule("agent-down", RuleKind::agent_offline);
  r.window = 5min;
  AlertEngine e({r}, "c1");
  wire::Health h;
  h.ts = m_clock.now();
  e.observe_health("a1", h, m_clock.now());
  EXPECT_TRUE(step(e, 5min).empty());
  const auto notes = step(e, 1s);
  ASSERT_EQ(events(notes), std::vector<std::string>{"firing agent-down/a1"});
  EXPECT_NE(notes[0].alert.summary.find("silent for 5m1s"), std::string::npos)
      << notes[0].alert.summary;
}

TEST_F(EngineTest, PollErrorRateAndBacklog) {
  auto errors = rule("errors", RuleKind::poll_errors);
  errors.threshold = 5;
  errors.resolve_threshold = 5;
  errors.window = 10min;
  auto backlog = rule("backlog", RuleKind::backlog);
  backlog.threshold = 1000;
  backlog.resolve_threshold = 100;
  backlog.max_age = 10min;
  AlertEngine e({errors, backlog}, "c1");

  const auto health = [&](std::int64_t polls, std::int64_t errs, std::int64_t depth,
                          std::optional<double> age) {
    wire::Health h;
    h.ts = m_clock.now();
    h.buffer_depth = depth;
    h.oldest_unsent_age_s = age;
    wire::SourceHealth src;
    src.name = "rig";
    src.type = "nginx_rtmp";
    src.polls = polls;
    src.errors = errs;
    h.sources.push_back(src);
    e.observe_health("a1", h, m_clock.now());
  };
  health(100, 0, 0, {});
  EXPECT_TRUE(step(e, 1min).empty());
  health(200, 4, 10, 1.0);  // 4 % of the last 100 polls
  EXPECT_TRUE(step(e, 1min).empty());
  health(300, 16, 2000, 30.0);  // 8 % of 200 polls in the window; depth above 1000
  EXPECT_EQ(events(step(e, 1min)),
            (std::vector<std::string>{"firing errors/a1/rig", "firing backlog/a1"}));
  health(400, 30, 500, 20.0);  // depth below 1000 but above the resolve threshold 100
  EXPECT_TRUE(step(e, 1min).empty());
  health(500, 40, 50, 700.0);  // depth cleared, but the oldest sample is 11m40s old
  EXPECT_TRUE(step(e, 1min).empty());
  health(600, 40, 0, {});  // 8 % of 500 polls: still above 5
  const auto notes = step(e, 1min);
  EXPECT_EQ(events(notes), std::vector<std::string>{"resolved backlog/a1"});
}

TEST_F(EngineTest, CollectorRules) {
  auto ingest = rule("ingest", RuleKind::ingest_errors);
  ingest.threshold = 5;
  ingest.resolve_threshold = 5;
  ingest.window = 5min;
  auto latency = rule("latency", RuleKind::write_latency);
  latency.threshold = 1;
  latency.resolve_threshold = 1;
  auto pg = rule("pg", RuleKind::postgres_down);
  auto memory = rule("memory", RuleKind::memory);
  memory.threshold = 90;
  memory.resolve_threshold = 90;
  auto partition = rule("default", RuleKind::default_partition);
  AlertEngine e({ingest, latency, pg, memory, partition}, "c1");

  e.observe_collector({.samples = 1000,
                       .rejects = 0,
                       .write_latency_s = 0.1,
                       .postgres_up = true,
                       .memory_percent = 20,
                       .default_partition_rows = 0},
                      m_clock.now());
  EXPECT_TRUE(step(e).empty());
  e.observe_collector({.samples = 1090,
                       .rejects = 10,
                       .write_latency_s = 2.5,
                       .postgres_up = false,
                       .memory_percent = 95,
                       .default_partition_rows = 3},
                      m_clock.now());
  const auto notes = step(e);
  EXPECT_EQ(events(notes),
            (std::vector<std::string>{"firing ingest/c1", "firing latency/c1", "firing pg/c1",
                                      "firing memory/c1", "firing default/c1"}));
  EXPECT_NEAR(*notes[0].alert.value, 10.0, 1e-9);  // 10 refused of the last 100
  // Unknown values (no writes, no probe) keep the state rather than resolving it.
  e.observe_collector({.samples = 1090, .rejects = 10}, m_clock.now());
  EXPECT_TRUE(step(e).empty());
  EXPECT_EQ(e.alerts().size(), 5u);
}

TEST_F(EngineTest, ViewerSpikeAndDroppedFrames) {
  auto spike = rule("spike", RuleKind::viewer_spike);
  spike.threshold = 100;
  spike.resolve_threshold = 100;
  spike.window = 5min;
  auto frames = rule("frames", RuleKind::dropped_frames);
  frames.threshold = 5;
  frames.resolve_threshold = 5;
  frames.window = 5min;
  AlertEngine e({spike, frames}, "c1");
  auto s = sample("foo", true, 100);
  s.fps = 30;
  s.dropped_frames = 0;
  feed(e, s);
  EXPECT_TRUE(step(e, 10s).empty());
  s = sample("foo", true, 150);  // +50 %
  s.fps = 30;
  s.dropped_frames = 10;  // 10 of ~310 frames
  feed(e, s);
  EXPECT_TRUE(step(e, 10s).empty());
  s = sample("foo", true, 250);  // +150 %
  s.fps = 30;
  s.dropped_frames = 100;  // 100 of ~700 frames in 20 s
  feed(e, s);
  EXPECT_EQ(events(step(e, 1s)),
            (std::vector<std::string>{"firing spike/twitch/foo", "firing frames/twitch/foo"}));
}

TEST_F(EngineTest, RestartWithStoredStateDoesNotRenotify) {
  auto r = rule("drop", RuleKind::viewer_drop);
  r.threshold = 50;
  r.resolve_threshold = 50;
  r.window = 5min;
  r.repeat_interval = 1h;
  std::vector<Alert> stored;
  {
    AlertEngine e({r}, "c1");
    feed(e, sample("foo", true, 1000));
    feed(e, sample("foo", true, 300));
    EXPECT_EQ(events(step(e)), std::vector<std::string>{"firing drop/twitch/foo"});
    for (const auto& c : e.take_changes()) {
      if (c.state != AlertState::resolved) stored = {c};
    }
  }
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_TRUE(stored[0].firing_sent);

  AlertEngine e({r}, "c1");
  e.restore(stored);
  // Fresh samples after the restart: the window has not been seen in full, so the low value
  // alone neither re-fires nor clears the restored alert.
  feed(e, sample("foo", true, 300));
  EXPECT_TRUE(step(e, 10s).empty());
  for (int i = 0; i < 5; ++i) {
    feed(e, sample("foo", true, 300));
    EXPECT_TRUE(step(e, 1min).empty()) << i;
  }
  feed(e, sample("foo", true, 300));
  const auto notes = step(e, 1min);  // a full window of 300s: no fall any more
  ASSERT_EQ(events(notes), std::vector<std::string>{"resolved drop/twitch/foo"});
  EXPECT_EQ(notes[0].alert.fired_at, stored[0].fired_at);

  // Repeats resume from the stored last notification, not from the restart.
  AlertEngine again({r}, "c1");
  again.restore(stored);
  feed(again, sample("foo", true, 1000));
  feed(again, sample("foo", true, 100));
  EXPECT_TRUE(again.tick(*stored[0].last_notified + 59min).empty());
  EXPECT_EQ(events(again.tick(*stored[0].last_notified + 1h)),
            std::vector<std::string>{"repeat drop/twitch/foo"});
}

TEST_F(EngineTest, RestoreSendsWhatThePreviousNotifierNeverSent) {
  auto r = rule("live", RuleKind::went_live);
  AlertEngine e({r}, "c1");
  feed(e, sample("foo", true, 1));
  EXPECT_EQ(events(step(e)).size(), 1u);  // evaluated as a follower: not really sent
  e.restore({});                          // the notifier's store knows nothing of it
  EXPECT_EQ(events(step(e)), std::vector<std::string>{"firing live/twitch/foo"});
}

}  // namespace
}  // namespace streamtrack::collector::alerts
