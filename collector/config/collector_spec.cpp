#include "collector/config/collector_spec.hpp"

#include "collector/alerts/rule.hpp"
#include "collector/config/collector_config.hpp"
#include "common/config/example.hpp"
#include "common/config/log_settings.hpp"
#include "common/config/mqtt_settings.hpp"

namespace streamtrack::collector {

using config::KeySpec;
using config::TableSpec;
using config::ValueType;

namespace {

// PostgreSQL's and libpq's millisecond settings are 32-bit integers (at most 2^31 - 1 ms, 24.8
// days): the bound of the durations passed to them, rounded down to whole days.
constexpr std::int64_t k_max_pg_milliseconds = std::int64_t{24} * 86'400'000;

const TableSpec& collector_table_spec() {
  static const TableSpec own{{
      {.name = "id",
       .description = "Collector id in logs and client ids (default: host name).",
       .example = "\"collector-1\""},
      {.name = "shutdown_timeout",
       .type = ValueType::duration,
       .default_value = std::string("10s"),
       .description = "On SIGTERM, how long to keep writing pending batches. At most an hour "
                      "(systemd stops the service after its TimeoutStopSec anyway).",
       .min = 0,
       .max = 3'600'000},
  }};
  static const TableSpec spec = config::with_log_keys(own, "id");
  return spec;
}

const TableSpec& collector_mqtt_spec() {
  static const TableSpec spec = config::extend(
      config::mqtt_base_spec(),
      {{.name = "shared_group",
        .description = "Subscribe through $share/<group>/... so collectors split the load: "
                       "give several collectors the same group and each sample goes to one "
                       "of them.",
        .example = "\"collectors\""}});
  return spec;
}

const TableSpec& postgres_spec() {
  static const TableSpec spec{{
      {.name = "dsn",
       .required = true,
       .description = "libpq connection string "
                      "(https://www.postgresql.org/docs/15/libpq-connect.html).",
       .example = "\"host=127.0.0.1 port=5432 dbname=streamtrack user=streamtrack\""},
      {.name = "password_file",
       .description = "File holding the database password (or credential \"postgres-password\").",
       .example = "\"/etc/streamtrack/postgres.password\""},
      {.name = "pool_size",
       .type = ValueType::integer,
       .default_value = std::int64_t{2},
       .description = "Connections used for batch writes.",
       .min = 1,
       .max = 32},
      {.name = "connect_timeout",
       .type = ValueType::duration,
       .default_value = std::string("5s"),
       .description = "Give up a connection attempt after this long.",
       .min = 1000},
      {.name = "statement_timeout",
       .type = ValueType::duration,
       .default_value = std::string("60s"),
       .description = "Cancel any statement running longer (\"0s\": the server's setting). At "
                      "most 24 days (the server counts milliseconds in 32 bits).",
       .min = 0,
       .max = k_max_pg_milliseconds},
      {.name = "lock_timeout",
       .type = ValueType::duration,
       .default_value = std::string("10s"),
       .description = "Give up waiting for a lock after this long; the batch is retried "
                      "(\"0s\": the server's setting). At most 24 days (as statement_timeout).",
       .min = 0,
       .max = k_max_pg_milliseconds},
      {.name = "keepalive_idle",
       .type = ValueType::duration,
       .default_value = std::string("30s"),
       .description = "TCP keepalive: idle time before the first probe.",
       .min = 1000},
      {.name = "keepalive_interval",
       .type = ValueType::duration,
       .default_value = std::string("10s"),
       .description = "TCP keepalive: time between probes.",
       .min = 1000},
      {.name = "keepalive_count",
       .type = ValueType::integer,
       .default_value = std::int64_t{3},
       .description = "TCP keepalive: unanswered probes before the connection is dropped.",
       .min = 1,
       .max = 100},
      {.name = "tcp_user_timeout",
       .type = ValueType::duration,
       .default_value = std::string("60s"),
       .description = "Drop the connection when sent data stays unacknowledged this long. At "
                      "most 24 days (libpq counts milliseconds in 32 bits).",
       .min = 1000,
       .max = k_max_pg_milliseconds},
  }};
  return spec;
}

const TableSpec& batch_spec() {
  static const TableSpec spec{{
      {.name = "max_rows",
       .type = ValueType::integer,
       .default_value = std::int64_t{5000},
       .description = "Write a batch once it has this many rows.",
       .min = 1,
       .max = 1'000'000,
       .reloads = true},
      {.name = "max_delay",
       .type = ValueType::duration,
       .default_value = std::string("200ms"),
       .description = "Write a batch at the latest this long after its first row: how long rows "
                      "wait while another batch is being written (while none is, min_delay). "
                      "At most an hour: rows held longer only hold memory and leave their "
                      "agents' samples unacknowledged.",
       .min = 1,
       .max = 3'600'000,
       .reloads = true},
      {.name = "min_delay",
       .type = ValueType::duration,
       .default_value = std::string("100ms"),
       .description = "While no batch is being written, write a batch this long after its "
                      "first row (rows that arrived during a write as well, from their first "
                      "row's arrival), so that the rows arriving meanwhile join it (fewer, larger "
                      "transactions for up to this much latency). At most max_delay (the default "
                      "yields to a shorter max_delay); \"0s\" writes at once.",
       .min = 0,
       .max = 3'600'000,
       .reloads = true},
      {.name = "max_pending_rows",
       .type = ValueType::integer,
       .default_value = std::int64_t{100'000},
       .description = "Rows held in memory while the database is down; beyond this, "
                      "messages are left unacknowledged.",
       .min = 1,
       .reloads = true},
      {.name = "max_pending_bytes",
       .type = ValueType::integer,
       .default_value = std::int64_t{256} * 1024 * 1024,
       .description = "Bytes of messages held in memory (queued or being written), rejects "
                      "included; beyond this, messages are left unacknowledged.",
       .min = 1024 * 1024,
       .reloads = true},
  }};
  return spec;
}

const TableSpec& partitions_spec() {
  static const TableSpec spec{{
      {.name = "premake_months",
       .type = ValueType::integer,
       .default_value = std::int64_t{3},
       .description = "Monthly partitions created ahead of now.",
       .min = 0,
       .max = 60},
      {.name = "retention_months",
       .type = ValueType::integer,
       .default_value = std::int64_t{0},
       .description = "Drop partitions older than this many months (0: keep forever).",
       .min = 0,
       .max = 1200},
      {.name = "maintenance_interval",
       .type = ValueType::duration,
       .default_value = std::string("1h"),
       .description = "How often partitions are checked.",
       .min = 1000},
      {.name = "lock_timeout",
       .type = ValueType::duration,
       .default_value = std::string("2s"),
       .description = "Partition DDL gives up a lock after this long and retries next round, "
                      "so it never queues writers behind it for longer.",
       .min = 1},
      {.name = "rescue_chunk_rows",
       .type = ValueType::integer,
       .default_value = std::int64_t{10'000},
       .description = "Rows moved out of the default partition per transaction.",
       .min = 1,
       .max = 10'000'000},
      {.name = "archive_dir",
       .default_value = std::string(""),
       .description = "Before retention drops a month, write it to <archive_dir>/<partition>"
                      ".copy.gz (COPY text with a header, gzip; docs/operations.md shows the "
                      "restore); a month that cannot be archived is kept. An absolute path the "
                      "service may write, e.g. /var/lib/streamtrack-collector/archive. \"\": "
                      "drop without an archive."},
  }};
  return spec;
}

const TableSpec& ingest_spec() {
  static const TableSpec spec{{
      {.name = "max_future",
       .type = ValueType::duration,
       .default_value = std::string("1h"),
       .description = "Samples timestamped further ahead of the collector's clock are "
                      "refused (ingest_rejects).",
       .min = 0},
  }};
  return spec;
}

const TableSpec& live_spec() {
  static const TableSpec spec{{
      {.name = "min_interval",
       .type = ValueType::duration,
       .default_value = std::string("1s"),
       .description = "A channel's live value is published at most this often; a commit within "
                      "the interval holds the channel's newest value back until it ends. \"0s\" "
                      "publishes after every commit. At most a day: a value held back longer is "
                      "no live value.",
       .min = 0,
       .max = 86'400'000},
  }};
  return spec;
}

const TableSpec& alerting_spec() {
  static const TableSpec spec{{
      {.name = "forget_after",
       .type = ValueType::duration,
       .default_value = std::string("24h"),
       .description = "Channels and agent sources silent this long are forgotten by the alert "
                      "rules (their open alerts resolve); \"0s\" keeps them forever.",
       .min = 0,
       .reloads = true},
  }};
  return spec;
}

const TableSpec& analytics_spec() {
  static const TableSpec spec{{
      {.name = "refresh_interval",
       .type = ValueType::duration,
       .default_value = std::string("1m"),
       .description =
           "How often the hours writers touched are merged into stream_analytics_hourly.",
       .min = 100},
  }};
  return spec;
}

const TableSpec& sessions_spec() {
  static const TableSpec spec{{
      {.name = "offline_timeout",
       .type = ValueType::duration,
       .default_value = std::string("5m"),
       .description = "Close a live session that sent no sample for this long.",
       .min = 1000},
  }};
  return spec;
}

const TableSpec& http_spec() {
  static const TableSpec spec{{
      {.name = "listen",
       .default_value = std::string("127.0.0.1:9465"),
       .description = "Address of /metrics, /healthz and /readyz; \"\" turns it off."},
  }};
  return spec;
}

const TableSpec& retention_spec() {
  static const TableSpec spec{{
      {.name = "ingest_rejects",
       .type = ValueType::duration,
       .default_value = std::string("0s"),
       .description = "Delete ingest_rejects rows received longer ago than this, each "
                      "maintenance round (\"0s\": keep them all).",
       .min = 0},
      {.name = "alert_history",
       .type = ValueType::duration,
       .default_value = std::string("0s"),
       .description = "Delete alerts resolved longer ago than this, each maintenance round; "
                      "open alerts stay (\"0s\": keep the whole history).",
       .min = 0},
  }};
  return spec;
}

const TableSpec& homeassistant_spec() {
  static const TableSpec spec{{
      {.name = "enabled",
       .type = ValueType::boolean,
       .default_value = false,
       .description = "Publish Home Assistant MQTT discovery configs: per channel a device with "
                      "live, viewers and chat-per-minute entities, per agent a connectivity "
                      "sensor (docs/integrations.md)."},
      {.name = "prefix",
       .default_value = std::string("homeassistant"),
       .description = "Home Assistant's discovery prefix (its MQTT discovery_prefix setting)."},
      {.name = "forget_after",
       .type = ValueType::duration,
       .default_value = std::string("7d"),
       .description = "A channel without a committed sample this long is removed from Home "
                      "Assistant (empty retained config); it comes back with its next sample. "
                      "\"0s\" keeps every channel.",
       .min = 0},
  }};
  return spec;
}

const TableSpec& alert_match_spec() {
  static const TableSpec spec{{
      {.name = "platform", .description = "Only this platform (glob with * allowed)."},
      {.name = "channel", .description = "Only this channel (glob with * allowed)."},
      {.name = "agent", .description = "Only this agent (glob with * allowed)."},
  }};
  return spec;
}

}  // namespace

const TableSpec& alert_rule_spec() {
  static const TableSpec spec{{
      {.name = "name", .required = true, .description = "Unique rule name."},
      {.name = "rule",
       .required = true,
       .description = "What the rule watches.",
       .one_of = {"went_live", "went_offline", "viewer_drop", "viewer_spike", "low_bitrate",
                  "dropped_frames", "stale", "agent_offline", "poll_errors", "backlog",
                  "ingest_errors", "write_latency", "postgres_down", "memory", "default_partition",
                  "missing_partition"}},
      {.name = "severity",
       .default_value = std::string("warning"),
       .description = "Carried in the alert's labels and payloads.",
       .one_of = {"critical", "error", "warning", "info"}},
      {.name = "threshold",
       .type = ValueType::floating,
       .description = "Fire above (or, for falls and low values, below) this value."},
      {.name = "resolve_threshold",
       .type = ValueType::floating,
       .description = "Resolve only past this value (hysteresis)."},
      {.name = "window", .type = ValueType::duration, .description = "Look-back window."},
      {.name = "for",
       .type = ValueType::duration,
       .default_value = std::string("0s"),
       .description = "Pending this long before firing."},
      {.name = "keep_firing_for",
       .type = ValueType::duration,
       .default_value = std::string("0s"),
       .description = "Keep firing this long after the condition clears."},
      {.name = "repeat_interval",
       .type = ValueType::duration,
       .default_value = std::string("4h"),
       .description = "Notify again this often while firing.",
       .min = 1000},
      {.name = "labels", .type = ValueType::table, .description = "Extra labels (strings)."},
      {.name = "match",
       .type = ValueType::table,
       .description = "Only what matches: platform, channel, agent globs ([alert.match]).",
       .nested = &alert_match_spec()},
      {.name = "max_age",
       .type = ValueType::duration,
       .description = "backlog: fire when the oldest unsent sample is older than this."},
      {.name = "webhooks",
       .type = ValueType::string_list,
       .description = "Names of [[alert_webhook]] tables to notify (default: all)."},
  }};
  return spec;
}

// The shipped monitoring (active) and further examples: what `config example` prints.
namespace {

std::vector<config::TableExample> alert_examples() {
  return {
      {.comment = "A channel that was live went offline.",
       .toml = "name = \"stream-offline\"\nrule = \"went_offline\"\nseverity = \"warning\"\n",
       .active = true},
      {.comment = "Viewers fell by more than 50 % from the highest count within 10 minutes "
                  "(resolved once the fall is under 30 %).",
       .toml = "name = \"viewers-falling\"\nrule = \"viewer_drop\"\nseverity = \"warning\"\n"
               "threshold = 50\nresolve_threshold = 30\nwindow = \"10m\"\nfor = \"1m\"\n",
       .active = true},
      {.comment = "An agent is offline: its Last Will, or silence longer than the window.",
       .toml = "name = \"agent-offline\"\nrule = \"agent_offline\"\nseverity = \"error\"\n"
               "window = \"5m\"\n",
       .active = true},
      {.comment = "Error rate: more than 5 % of an agent source's polls failed over 5 minutes.",
       .toml = "name = \"poll-errors\"\nrule = \"poll_errors\"\nseverity = \"warning\"\n"
               "threshold = 5\nwindow = \"5m\"\n",
       .active = true},
      {.comment = "Error rate: more than 5 % of the messages the collector received were "
                  "refused over 5 minutes.",
       .toml = "name = \"ingest-errors\"\nrule = \"ingest_errors\"\nseverity = \"warning\"\n"
               "threshold = 5\nwindow = \"5m\"\n",
       .active = true},
      {.comment = "Response time: a batch write to PostgreSQL took longer than 1 s.",
       .toml = "name = \"slow-writes\"\nrule = \"write_latency\"\nseverity = \"warning\"\n"
               "threshold = 1\nfor = \"1m\"\n",
       .active = true},
      {.comment = "Memory: the collector uses more than 90 % of its cgroup limit (or of RAM).",
       .toml = "name = \"collector-memory\"\nrule = \"memory\"\nseverity = \"error\"\n"
               "threshold = 90\n",
       .active = true},
      {.comment = "Further examples. An agent's outbox holds more than 10000 samples, or its "
                  "oldest unsent sample is older than 15 minutes.",
       .toml = "name = \"agent-backlog\"\nrule = \"backlog\"\nthreshold = 10000\n"
               "max_age = \"15m\"\n"},
      {.comment = "This month's or next month's partition could not be made.",
       .toml = "name = \"partitions\"\nrule = \"missing_partition\"\nseverity = \"critical\"\n"},
      {.comment = "Only some streams, with extra labels and one webhook.",
       .toml = "name = \"main-channel-live\"\nrule = \"went_live\"\nseverity = \"info\"\n"
               "webhooks = [\"alertmanager\"]\n[alert.match]\nplatform = \"twitch\"\n"
               "channel = \"main*\"\n[alert.labels]\nteam = \"video\"\n"},
  };
}

}  // namespace

const TableSpec& collector_root_spec() {
  static const TableSpec spec{{
      {.name = "collector",
       .type = ValueType::table,
       .description = "The collector itself.",
       .nested = &collector_table_spec()},
      {.name = "mqtt",
       .type = ValueType::table,
       .description = "The MQTT broker the agents publish to.",
       .nested = &collector_mqtt_spec()},
      {.name = "postgres",
       .type = ValueType::table,
       .required = true,
       .description = "The database. Every connection cancels a statement running longer than "
                      "statement_timeout and gives up a lock after lock_timeout; the batch is "
                      "then kept, unacknowledged, and retried. TCP keepalives and "
                      "tcp_user_timeout bound how long a half-open connection can hang a "
                      "writer.",
       .nested = &postgres_spec()},
      {.name = "batch",
       .type = ValueType::table,
       .description = "A batch is written when it has max_rows rows; or at once when the "
                      "queue is full (max_pending_rows or max_pending_bytes reached, messages "
                      "are being left unacknowledged); or min_delay after its first row while no "
                      "other batch is being written (group commit: rows that arrived during a "
                      "write are written min_delay after their first row, not as soon as the "
                      "write ends), max_delay after it while one is.",
       .nested = &batch_spec()},
      {.name = "ingest",
       .type = ValueType::table,
       .description = "Accepted sample times: from 2000-01-01 (with retention_months, from the "
                      "first month kept) to max_future ahead of the collector's clock. Others "
                      "go to ingest_rejects with the reason.",
       .nested = &ingest_spec()},
      {.name = "live",
       .type = ValueType::table,
       .description = "Committed values, retained on <root>/live/<platform>/<channel> "
                      "(docs/mqtt.md, \"Live values\").",
       .nested = &live_spec()},
      {.name = "partitions",
       .type = ValueType::table,
       .description = "Monthly partitions of livestream_metrics.",
       .nested = &partitions_spec()},
      {.name = "analytics",
       .type = ValueType::table,
       .description = "Hourly analytics (stream_analytics_hourly).",
       .nested = &analytics_spec()},
      {.name = "sessions",
       .type = ValueType::table,
       .description = "Live sessions (livestreams).",
       .nested = &sessions_spec()},
      {.name = "http",
       .type = ValueType::table,
       .description = "The status endpoint.",
       .nested = &http_spec()},
      {.name = "homeassistant",
       .type = ValueType::table,
       .description = "Home Assistant MQTT discovery (docs/integrations.md).",
       .nested = &homeassistant_spec()},
      {.name = "retention",
       .type = ValueType::table,
       .description = "How long history besides livestream_metrics is kept.",
       .nested = &retention_spec()},
      {.name = "alerting",
       .type = ValueType::table,
       .description = "Settings shared by every alert rule.",
       .nested = &alerting_spec()},
      {.name = "alert",
       .type = ValueType::table_array,
       .description = "Alert rules, one [[alert]] each (docs/alerts.md lists every rule and "
                      "key). The rules below are the shipped monitoring, on by default: remove "
                      "or change them as needed.",
       .nested = &alert_rule_spec(),
       .reloads = true,
       .examples = alert_examples()},
      {.name = "alert_webhook",
       .type = ValueType::table_array,
       .description = "Where alerts go besides MQTT (<root>/alerts/...), one [[alert_webhook]] "
                      "each.",
       .nested = &alerts::webhook_spec(),
       .reloads = true,
       .examples = {{.comment = "Prometheus Alertmanager.",
                     .toml =
                         "name = \"alertmanager\"\n"
                         "url = \"http://127.0.0.1:9093/api/v2/alerts\"\n"
                         "preset = \"alertmanager\"\ntimeout = \"5s\"\nretry_for = \"10m\"\n"}}},
  }};
  return spec;
}

std::string collector_config_example() {
  return config::render_example(
      collector_root_spec(),
      "streamtrack-collector configuration: the output of `streamtrack-collector config "
      "example`, generated from the key declarations.\n"
      "Check it with: streamtrack-collector --config /etc/streamtrack/collector.toml "
      "--check-config\n"
      "Durations are strings: \"500ms\", \"10s\", \"5m\", \"1h\", \"1d\", at most \"3650d\". Every "
      "*_file key names a file "
      "(a relative name is looked up in $CREDENTIALS_DIRECTORY, which systemd's "
      "LoadCredential= fills).\n"
      "Drop-ins: after this file, every *.toml file in the directory collector.d next to it is "
      "read in byte order of the file names. Tables merge key by key; a key set again replaces "
      "the earlier value (the later file wins); [[alert]] and [[alert_webhook]] entries are "
      "appended.\n"
      "SIGHUP (systemctl reload) applies what each key says; a configuration that fails "
      "validation is refused and the running one kept.");
}

}  // namespace streamtrack::collector
