#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "collector/alerts/alert.hpp"
#include "collector/alerts/evaluation.hpp"
#include "collector/alerts/history.hpp"
#include "collector/alerts/rule.hpp"
#include "common/wire/codec.hpp"
#include "common/wire/sample.hpp"

// The rule engine: fed with what the collector sees (samples, agent status and health, its own
// health), it evaluates every rule on tick() and runs each alert through
// pending -> firing -> resolved, with `for`, `keep_firing_for`, hysteresis, repeats and
// inhibition. It never blocks on I/O; persistence and delivery belong to the AlertService.
namespace streamtrack::collector::alerts {

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
  // Runs one candidate of `rule` through the lifecycle.
  void evaluate(const Rule& rule, const Candidate& e, TimePoint now);
  // Marks firing alerts inhibited while an agent_offline alert of their agent fires, and
  // queues the firing and repeat notifications due.
  void notify(TimePoint now);
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
  History m_seen;
  std::map<std::string, Alert> m_alerts;  // by Alert::id()
  std::vector<AlertChange> m_changes;
  std::vector<Notification> m_out;
  std::vector<Notification> m_retired;  // resolved by set_rules, sent on the next tick
};

}  // namespace streamtrack::collector::alerts
