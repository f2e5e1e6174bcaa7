#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "collector/alerts/alert.hpp"
#include "collector/alerts/rule.hpp"
#include "common/wire/codec.hpp"
#include "common/wire/sample.hpp"

// The rule engine: fed with what the collector sees (samples, agent status and health, its own
// health), it evaluates every rule on tick() and runs each alert through
// pending -> firing -> resolved, with `for`, `keep_firing_for`, hysteresis, repeats and
// inhibition. It never blocks on I/O; persistence and delivery belong to the AlertService.
namespace streamtrack::collector::alerts {

// The collector's view of itself at one instant. Counters are cumulative since start; absent
// fields are unknown (the matching rules keep their state).
struct CollectorObservation {
  std::uint64_t samples = 0;                // samples committed
  std::uint64_t rejects = 0;                // messages refused (decode or database)
  std::optional<double> write_latency_s{};  // slowest batch write since the last observation
  std::optional<bool> postgres_up{};
  std::optional<double> memory_percent{};  // resident memory in % of the limit
  std::optional<std::int64_t> default_partition_rows{};
  // Monthly partitions missing for the current month and the next (maintenance failing).
  std::optional<std::int64_t> missing_partitions{};
};

// One change to persist: the alert as it is now (a pending alert that never fired and went
// away has state resolved and no fired_at: it was never an episode).
using AlertChange = Alert;

class AlertEngine {
 public:
  AlertEngine(std::vector<Rule> rules, std::string collector_id);

  // Thread-safe, cheap (called on the ingest path). `at` is the collector's clock.
  void observe_sample(const Sample& sample, TimePoint at);
  void observe_status(const std::string& agent, const wire::Status& status, TimePoint at);
  void observe_health(const std::string& agent, const wire::Health& health, TimePoint at);
  void observe_collector(const CollectorObservation& observation, TimePoint at);

  // Evaluates every rule at `now` and returns the notifications due, in order: firing (after
  // `for`, unless inhibited), repeat (every repeat_interval while firing), resolved (after
  // keep_firing_for, carrying fired_at and resolved_at; only for alerts whose firing was sent).
  std::vector<Notification> tick(TimePoint now);

  // Alerts created, changed or ended since the last call, for the state store.
  std::vector<AlertChange> take_changes();

  // Replaces the bookkeeping of alerts with stored state (pending or firing, from a previous
  // run or another collector): an alert restored as firing and sent is not sent again, and
  // resolves only when its condition is seen false.
  void restore(const std::vector<Alert>& stored);

  // Every current (pending or firing) alert.
  std::vector<Alert> alerts() const;

  // Channels and agent sources not heard of for `after` are forgotten on the next tick: their
  // series are dropped and their open alerts resolve. Zero (the default) keeps them forever.
  void set_forget_after(std::chrono::milliseconds after);
  // Replaces the rules (SIGHUP). Alerts of a rule kept under the same name and kind carry on
  // (its new thresholds apply from the next tick, its new severity at once); alerts of a rule
  // removed or changed to another kind resolve at `now`, notified on the next tick when their
  // firing was sent (the notification carries the removed rule's webhooks). What was observed
  // (channels, agents, counters) is kept.
  void set_rules(std::vector<Rule> rules, TimePoint now);

  // Channels currently tracked (for tests and metrics).
  std::size_t tracked_channels() const;

  const std::vector<Rule>& rules() const { return m_rules; }

 private:
  struct Point {
    TimePoint ts;
    double value;
  };
  struct FramePoint {
    TimePoint ts;
    std::int64_t dropped;
    double fps;
  };
  struct Channel {
    std::string platform;
    std::string channel;
    std::string agent;
    TimePoint first_ts{};
    TimePoint last_ts{};
    TimePoint last_received{};
    bool live = false;
    bool seen_live = false;
    std::optional<double> bitrate;
    std::deque<Point> viewers;
    std::deque<FramePoint> frames;
  };
  struct Counter {
    TimePoint at;
    double total;
    double bad;
  };
  struct Agent {
    std::optional<std::string> state;
    std::optional<std::string> reason;
    TimePoint last_seen{};
    std::optional<wire::Health> health;
    std::map<std::string, std::deque<Counter>> polls;  // per source: polls, errors
  };
  struct Self {
    std::deque<Counter> ingest;
    std::optional<CollectorObservation> last;
  };
  struct Eval {
    std::vector<std::string> key;
    std::map<std::string, std::string> labels;
    bool known = false;
    bool on = false;
    std::optional<double> value;
    std::string summary;
  };

  void evaluate(const Rule& rule, const Eval& e, TimePoint now);
  std::vector<Eval> candidates(const Rule& rule, TimePoint now) const;
  bool threshold_on(const Rule& rule, double value, bool active) const;
  void changed(const Alert& a);
  // Drops channels and sources silent for m_forget_after; their keys go to m_forgotten.
  void forget(TimePoint now);

  std::vector<Rule> m_rules;
  std::string m_collector;
  std::chrono::milliseconds m_history{0};
  std::chrono::milliseconds m_forget_after{0};
  // Keys of forgotten channels and sources whose alerts are still open: evaluated as cleared on
  // every tick until they resolve (keep_firing_for may hold them for a while).
  std::set<std::vector<std::string>> m_forgotten;

  mutable std::mutex m_mutex;
  std::map<std::pair<std::string, std::string>, Channel> m_channels;
  std::map<std::string, Agent> m_agents;
  Self m_self;
  std::map<std::string, Alert> m_alerts;  // by Alert::id()
  std::vector<AlertChange> m_changes;
  std::vector<Notification> m_out;
  std::vector<Notification> m_retired;  // resolved by set_rules, sent on the next tick
};

}  // namespace streamtrack::collector::alerts
