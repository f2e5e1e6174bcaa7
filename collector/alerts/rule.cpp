#include "collector/alerts/rule.hpp"

#include <array>
#include <set>

#include "collector/alerts/evaluators/evaluators.hpp"

namespace streamtrack::collector::alerts {

namespace {

// Everything that differs between rule kinds, one row per kind in the enum's order.
struct KindInfo {
  RuleKind kind;
  std::string_view name;
  Scope scope;
  Direction direction;
  std::optional<double> default_threshold;
  WindowUse window;
  Evaluator evaluate;
};

namespace ev = evaluators;
using enum Scope;
using enum Direction;
using enum WindowUse;

// clang-format off
constexpr std::array<KindInfo, k_rule_kind_count> k_kinds{{
    {RuleKind::went_live,         "went_live",         stream,    condition, {},   none,     &ev::went_live},
    {RuleKind::went_offline,      "went_offline",      stream,    condition, {},   none,     &ev::went_offline},
    {RuleKind::viewer_drop,       "viewer_drop",       stream,    above,     {},   required, &ev::viewer_drop},
    {RuleKind::viewer_spike,      "viewer_spike",      stream,    above,     {},   required, &ev::viewer_spike},
    {RuleKind::low_bitrate,       "low_bitrate",       stream,    below,     {},   none,     &ev::low_bitrate},
    {RuleKind::dropped_frames,    "dropped_frames",    stream,    above,     {},   optional, &ev::dropped_frames},
    {RuleKind::stale,             "stale",             stream,    condition, {},   required, &ev::stale},
    {RuleKind::agent_offline,     "agent_offline",     agent,     condition, {},   optional, &ev::agent_offline},
    {RuleKind::poll_errors,       "poll_errors",       agent,     above,     5.0,  optional, &ev::poll_errors},
    {RuleKind::backlog,           "backlog",           agent,     above,     {},   none,     &ev::backlog},
    {RuleKind::ingest_errors,     "ingest_errors",     collector, above,     5.0,  optional, &ev::ingest_errors},
    {RuleKind::write_latency,     "write_latency",     collector, above,     1.0,  none,     &ev::write_latency},
    {RuleKind::postgres_down,     "postgres_down",     collector, condition, {},   none,     &ev::postgres_down},
    {RuleKind::memory,            "memory",            collector, above,     90.0, none,     &ev::memory},
    {RuleKind::default_partition, "default_partition", collector, above,     0.0,  none,     &ev::default_partition},
    {RuleKind::missing_partition, "missing_partition", collector, above,     0.0,  none,     &ev::missing_partition},
}};
// clang-format on

// Every row in the enum's order, each with a name and an evaluator.
constexpr bool table_matches_enum() {
  for (std::size_t i = 0; i < k_kinds.size(); ++i) {
    const auto& k = k_kinds[i];
    if (static_cast<std::size_t>(k.kind) != i || k.name.empty() || k.evaluate == nullptr) {
      return false;
    }
  }
  return true;
}
static_assert(table_matches_enum(), "k_kinds must list every RuleKind once, in enum order");

const KindInfo& info(RuleKind kind) {
  return k_kinds[static_cast<std::size_t>(kind)];
}

// Names that would put an alert topic under one of the collector's own subscriptions
// (<root>/+/metrics/#, <root>/+/status, <root>/+/health) or the event topics.
const std::set<std::string> k_reserved_names{"metrics", "status", "health", "ack", "events"};

std::string number_text(double v) {
  std::string s = std::to_string(v);
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

void read_rule(const AlertRuleConfig& a, const std::set<std::string>& webhook_names,
               config::Diagnostics& diag, std::vector<Rule>& out) {
  const auto& s = a.section;
  const auto& ctx = s.context();
  const auto kind = parse_rule_kind(a.rule);
  if (!kind) return;  // the generic validation already reported it
  Rule r;
  r.name = a.name;
  r.kind = *kind;
  const auto& ki = info(*kind);
  if (k_reserved_names.count(r.name) != 0) {
    diag.error(s.position("name"), ctx, "name",
               "\"" + r.name + "\" is reserved (metrics, status, health, ack, events)");
  }
  r.severity = s.string("severity");
  r.labels = s.string_map("labels");
  for (const auto& reserved :
       {"alertname", "rule", "severity", "platform", "channel", "agent", "source", "collector"}) {
    if (r.labels.count(reserved) != 0) {
      diag.error(s.position("labels"), ctx, "labels",
                 std::string("\"") + reserved + "\" is set by the collector");
    }
  }

  const auto match = s.table("match");
  r.match_platform = match.optional_string("platform").value_or("*");
  r.match_channel = match.optional_string("channel").value_or("*");
  r.match_agent = match.optional_string("agent").value_or("*");
  if (ki.scope != Scope::stream) {
    for (const auto* key : {"platform", "channel"}) {
      if (match.has(key)) {
        diag.error(match.position(key), match.context(), key,
                   "rule \"" + a.rule + "\" does not watch streams");
      }
    }
  }
  if (ki.scope == Scope::collector && match.has("agent")) {
    diag.error(match.position("agent"), match.context(), "agent",
               "rule \"" + a.rule + "\" watches the collector itself");
  }

  const auto threshold =
      s.has("threshold") ? std::optional<double>(s.floating("threshold")) : ki.default_threshold;
  if (ki.direction == Direction::condition) {
    for (const auto* key : {"threshold", "resolve_threshold"}) {
      if (s.has(key)) {
        diag.error(s.position(key), ctx, key, "rule \"" + a.rule + "\" has no threshold");
      }
    }
  } else if (!threshold && r.kind != RuleKind::backlog) {
    diag.error(s.position(), ctx, "threshold", "rule \"" + a.rule + "\" needs a threshold");
  }
  r.threshold = threshold.value_or(0);
  r.resolve_threshold = s.has("resolve_threshold") ? s.floating("resolve_threshold") : r.threshold;
  if (ki.direction == Direction::above && r.resolve_threshold > r.threshold) {
    diag.error(
        s.position("resolve_threshold"), ctx, "resolve_threshold",
        "must not be above threshold (" + number_text(r.threshold) + "): the rule fires above it");
  }
  if (ki.direction == Direction::below && r.resolve_threshold < r.threshold) {
    diag.error(
        s.position("resolve_threshold"), ctx, "resolve_threshold",
        "must not be below threshold (" + number_text(r.threshold) + "): the rule fires below it");
  }

  if (s.has("window") && ki.window == WindowUse::none) {
    diag.error(s.position("window"), ctx, "window", "rule \"" + a.rule + "\" has no window");
  }
  r.window = s.optional_duration("window").value_or(std::chrono::milliseconds{0});
  if (!s.has("window")) {
    if (ki.window == WindowUse::required) {
      diag.error(s.position(), ctx, "window", "rule \"" + a.rule + "\" needs a window");
    } else if (ki.window == WindowUse::optional) {
      r.window = std::chrono::minutes{5};
    }
  } else if (r.window.count() <= 0) {
    diag.error(s.position("window"), ctx, "window", "must be longer than 0s");
  }

  if (s.has("max_age") && r.kind != RuleKind::backlog) {
    diag.error(s.position("max_age"), ctx, "max_age", "only the \"backlog\" rule has a max_age");
  }
  r.max_age = s.optional_duration("max_age").value_or(std::chrono::milliseconds{0});
  if (r.kind == RuleKind::backlog && !s.has("threshold") && !s.has("max_age")) {
    diag.error(s.position(), ctx, "threshold",
               "rule \"backlog\" needs a threshold (outbox depth), a max_age, or both");
  }

  r.for_duration = s.duration("for");
  r.keep_firing_for = s.duration("keep_firing_for");
  r.repeat_interval = s.duration("repeat_interval");
  r.webhooks = s.strings("webhooks");
  for (const auto& w : r.webhooks) {
    if (webhook_names.count(w) == 0) {
      diag.error(s.position("webhooks"), ctx, "webhooks",
                 "no [[alert_webhook]] is named \"" + w + "\"");
    }
  }
  out.push_back(std::move(r));
}

}  // namespace

std::optional<RuleKind> parse_rule_kind(std::string_view name) {
  for (const auto& k : k_kinds) {
    if (k.name == name) return k.kind;
  }
  return std::nullopt;
}

std::string_view rule_kind_name(RuleKind kind) {
  return info(kind).name;
}
Scope scope_of(RuleKind kind) {
  return info(kind).scope;
}
Direction direction_of(RuleKind kind) {
  return info(kind).direction;
}
WindowUse window_use_of(RuleKind kind) {
  return info(kind).window;
}
Evaluator evaluator_of(RuleKind kind) {
  return info(kind).evaluate;
}

bool operator==(const WebhookConfig& a, const WebhookConfig& b) {
  return a.name == b.name && a.url == b.url && a.preset == b.preset && a.timeout == b.timeout &&
         a.retry_for == b.retry_for && a.headers == b.headers;
}

bool glob_match(std::string_view pattern, std::string_view text) {
  std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

const config::TableSpec& webhook_spec() {
  static const config::TableSpec spec{{
      {.name = "name", .required = true, .description = "Name that rules refer to."},
      {.name = "url", .required = true, .description = "Where alerts are POSTed (http or https)."},
      {.name = "preset",
       .default_value = std::string("json"),
       .description = "Body format: generic JSON, Prometheus Alertmanager /api/v2/alerts, or "
                      "Slack/Discord-compatible text.",
       .one_of = {"json", "alertmanager", "slack"}},
      {.name = "timeout",
       .type = config::ValueType::duration,
       .default_value = std::string("5s"),
       .description = "Give up one attempt after this long.",
       .min = 100},
      {.name = "retry_for",
       .type = config::ValueType::duration,
       .default_value = std::string("10m"),
       .description = "Keep retrying a failed delivery (with backoff) this long.",
       .min = 0},
      {.name = "headers",
       .type = config::ValueType::table,
       .description = "Extra HTTP headers (strings)."},
  }};
  return spec;
}

AlertingConfig read_alerting(const CollectorConfig& config, config::Diagnostics& diag) {
  AlertingConfig out;
  std::set<std::string> webhook_names;
  if (config.document) {
    if (const auto* arr = config.document->get_as<toml::array>("alert_webhook");
        arr && arr->is_array_of_tables()) {
      std::size_t i = 0;
      for (const auto& node : *arr) {
        ++i;
        const auto& t = *node.as_table();
        const auto* name_node = t.get_as<std::string>("name");
        const std::string context = name_node ? "alert_webhook \"" + name_node->get() + "\""
                                              : "alert_webhook #" + std::to_string(i);
        const auto s = config::validate(t, webhook_spec(), context, diag);
        WebhookConfig w;
        w.name = s.string("name");
        w.url = s.string("url");
        const auto preset = s.string("preset");
        w.preset = preset == "alertmanager" ? WebhookPreset::alertmanager
                   : preset == "slack"      ? WebhookPreset::slack
                                            : WebhookPreset::json;
        w.timeout = s.duration("timeout");
        w.retry_for = s.duration("retry_for");
        w.headers = s.string_map("headers");
        if (!w.url.empty() && w.url.rfind("http://", 0) != 0 && w.url.rfind("https://", 0) != 0) {
          diag.error(s.position("url"), context, "url", "expected an http:// or https:// URL");
        }
        if (!w.name.empty() && !webhook_names.insert(w.name).second) {
          diag.error(s.position("name"), context, "name",
                     "another alert_webhook already has the name \"" + w.name + "\"");
        }
        out.webhooks.push_back(std::move(w));
      }
    }
  }
  for (const auto& a : config.alerts) read_rule(a, webhook_names, diag, out.rules);
  return out;
}

AlertingConfig read_alerting(const CollectorConfig& config) {
  config::Diagnostics diag(config.path);
  auto out = read_alerting(config, diag);
  diag.throw_if_any();
  return out;
}

}  // namespace streamtrack::collector::alerts
