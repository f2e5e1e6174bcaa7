#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collector/config/collector_config.hpp"
#include "common/config/schema.hpp"

// Alert rules as read from the [[alert]] tables of collector.toml, and the webhooks of the
// [[alert_webhook]] tables.
namespace streamtrack::collector::alerts {

enum class RuleKind {
  went_live,
  went_offline,
  viewer_drop,
  viewer_spike,
  low_bitrate,
  dropped_frames,
  stale,
  agent_offline,
  poll_errors,
  backlog,
  ingest_errors,
  write_latency,
  postgres_down,
  memory,
  default_partition,
  missing_partition,  // the last: k_rule_kind_count follows it
};

inline constexpr std::size_t k_rule_kind_count =
    static_cast<std::size_t>(RuleKind::missing_partition) + 1;

// What a rule's alerts are about, which decides their key: stream rules key on
// (platform, channel), agent rules on the agent (poll_errors: agent and source), collector
// rules on the collector id.
enum class Scope { stream, agent, collector };

// How a rule compares its value: fire above the threshold, fire below it, or a plain
// true/false condition.
enum class Direction { above, below, condition };

// Whether a rule reads a `window`: not at all, optionally (5m when not given), or it must be
// given.
enum class WindowUse { none, optional, required };

struct EvalContext;
struct Candidate;
// Evaluates one rule over what the engine observed: one candidate per key the rule watches
// (collector/alerts/evaluation.hpp).
using Evaluator = std::vector<Candidate> (*)(const EvalContext&);

std::optional<RuleKind> parse_rule_kind(std::string_view name);
std::string_view rule_kind_name(RuleKind kind);
Scope scope_of(RuleKind kind);
Direction direction_of(RuleKind kind);
WindowUse window_use_of(RuleKind kind);
// Never null: the table in rule.cpp is checked at compile time to give every kind one.
Evaluator evaluator_of(RuleKind kind);

struct Rule {
  std::string name;
  RuleKind kind = RuleKind::went_live;
  std::string severity = "warning";
  std::map<std::string, std::string> labels;  // extra labels from the config
  std::string match_platform = "*";           // globs, '*' matches any run of characters
  std::string match_channel = "*";
  std::string match_agent = "*";
  double threshold = 0;
  double resolve_threshold = 0;  // equal to threshold without hysteresis
  std::chrono::milliseconds window{0};
  std::chrono::milliseconds max_age{0};  // backlog: oldest unsent sample age (0: not checked)
  std::chrono::milliseconds for_duration{0};
  std::chrono::milliseconds keep_firing_for{0};
  std::chrono::milliseconds repeat_interval{std::chrono::hours{4}};
  std::vector<std::string> webhooks;  // names of [[alert_webhook]] tables; empty: every one
};

enum class WebhookPreset { json, alertmanager, slack };

struct WebhookConfig {
  std::string name;
  std::string url;
  WebhookPreset preset = WebhookPreset::json;
  std::chrono::milliseconds timeout{5000};
  std::chrono::milliseconds retry_for{std::chrono::minutes{10}};
  std::map<std::string, std::string> headers;
};

bool operator==(const WebhookConfig& a, const WebhookConfig& b);

struct AlertingConfig {
  std::vector<Rule> rules;
  std::vector<WebhookConfig> webhooks;
};

// Glob match where '*' matches any (possibly empty) run of characters.
bool glob_match(std::string_view pattern, std::string_view text);

// The [[alert_webhook]] table's keys.
const config::TableSpec& webhook_spec();

// Builds the rules and webhooks of a loaded configuration, reporting what the generic key
// validation cannot see (a threshold a rule needs, a resolve threshold on the wrong side,
// a key the rule does not use, a reserved name, an unknown webhook) to `diag`.
AlertingConfig read_alerting(const CollectorConfig& config, config::Diagnostics& diag);

// The same, throwing config::ConfigError listing every problem.
AlertingConfig read_alerting(const CollectorConfig& config);

}  // namespace streamtrack::collector::alerts
