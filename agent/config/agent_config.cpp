#include "agent/config/agent_config.hpp"

#include <set>

#include "agent/sources/registry.hpp"
#include "agent/sources/source_config.hpp"
#include "common/config/config_file.hpp"
#include "common/config/example.hpp"
#include "common/config/log_settings.hpp"
#include "common/config/toml_file.hpp"
#include "common/util/host.hpp"

namespace streamtrack::agent {

using config::KeySpec;
using config::TableSpec;
using config::ValueType;

namespace {

const TableSpec& agent_table_spec() {
  static const TableSpec own{
      {
          {.name = "id",
           .description = "Agent id in MQTT topics and samples (default: the host name).",
           .example = "\"rig-1\""},
          {.name = "state_dir",
           .default_value = std::string("/var/lib/streamtrack-agent"),
           .description =
               "Where the outbox lives: outbox.db, a SQLite database of unsent samples (every "
               "sample is written there before it is sent; samples the broker can never take "
               "are kept in its dead_letters table), and outbox.db.seq, the seq reservation "
               "(synced to disk) that keeps seqs growing even if the database is lost or rolled "
               "back by a power loss. Only a corrupt outbox is renamed "
               "outbox.db.corrupt-<time>, never deleted. Inspect it with: streamtrack-agent "
               "--config FILE outbox stats|export",
           .example_active = true},
          {.name = "shutdown_timeout",
           .type = ValueType::duration,
           .default_value = std::string("5s"),
           .description = "On SIGTERM: stop polling, keep flushing the outbox to the broker "
                          "this long, publish the offline status, exit. What is unsent stays in "
                          "the outbox for the next start. At most an hour (systemd stops the "
                          "service after its TimeoutStopSec anyway).",
           .min = 0,
           .max = 3'600'000},
      },
      "The agent itself."};
  static const TableSpec spec = config::with_log_keys(own, "state_dir");
  return spec;
}

const TableSpec& agent_mqtt_spec() {
  static const TableSpec spec = [] {
    auto s = config::extend(
        config::mqtt_base_spec(),
        {
            {.name = "max_inflight",
             .type = ValueType::integer,
             .default_value = std::int64_t{256},
             .description = "QoS 1 publishes awaiting the broker's PUBACK at once.",
             .min = 1,
             .max = 65535},
            {.name = "delivery",
             .default_value = std::string("committed"),
             .description = "When a sample leaves the outbox: on the broker's PUBACK "
                            "(\"broker\") or on the collector's ack after its database commit "
                            "(\"committed\").",
             .one_of = {"broker", "committed"}},
            {.name = "ack_timeout",
             .type = ValueType::duration,
             .default_value = std::string("60s"),
             .description = "With delivery = \"committed\": publish a sample again if no ack "
                            "came within this time. /readyz fails (\"acks\") when the broker "
                            "refuses the ack subscription or no ack came this long after the "
                            "broker took samples.",
             .min = 1000},
            {.name = "max_frame_samples",
             .type = ValueType::integer,
             .default_value = std::int64_t{1000},
             .description = "Most samples of the backlog sent together as one frame on "
                            "<topic_prefix>/<id>/frames (docs/mqtt.md); 0 or 1 sends every "
                            "sample alone on its metrics topic. Live samples always go alone, and "
                            "so does everything with delivery = \"broker\" (a PUBACK does not "
                            "show that a collector reads frames).",
             .min = 0,
             .max = 1000},
            {.name = "max_frame_bytes",
             .type = ValueType::integer,
             .default_value = std::int64_t{262144},
             .description = "Largest frame payload in bytes; keep it below the broker's "
                            "message_size_limit. A sample that does not fit goes alone.",
             .min = 1024,
             .max = 262144},
            {.name = "health_interval",
             .type = ValueType::duration,
             .default_value = std::string("30s"),
             .description = "Period of the health message on <topic_prefix>/<id>/health.",
             .min = 1000,
             .reloads = true},
        });
    s.description =
        "The MQTT broker. With the ACL of conf/mosquitto-acl.example, the user "
        "name is the agent id.";
    return s;
  }();
  return spec;
}

const TableSpec& buffer_spec() {
  static const TableSpec spec{
      {
          {.name = "max_rows",
           .type = ValueType::integer,
           .default_value = std::int64_t{1'000'000},
           .description = "Most samples kept unsent.",
           .min = 1,
           .reloads = true},
          {.name = "max_bytes",
           .type = ValueType::integer,
           .default_value = std::int64_t{256} * 1024 * 1024,
           .description = "Most payload bytes kept unsent.",
           .min = 4096,
           .reloads = true},
          {.name = "policy",
           .default_value = std::string("drop_oldest"),
           .description = "What to drop when the outbox is full. Every drop is counted (in "
                          "health, `outbox stats` and the log) and leaves a gap in seq. If the "
                          "disk is full or read-only, the agent keeps polling, holds new "
                          "samples in memory (up to max_rows and max_bytes, dropping by this "
                          "policy) and retries; what it still holds at shutdown is logged as "
                          "lost.",
           .one_of = {"drop_oldest", "drop_newest"},
           .reloads = true},
      },
      "The outbox: every sample is stored here before it is sent."};
  return spec;
}

const TableSpec& http_spec() {
  static const TableSpec spec{
      {
          {.name = "listen",
           .default_value = std::string("127.0.0.1:9464"),
           .description = "Address of /metrics (Prometheus), /healthz and /readyz; \"\" "
                          "turns the endpoint off."},
      },
      "The status endpoint."};
  return spec;
}

std::vector<config::TableExample> source_examples() {
  std::vector<config::TableExample> out;
  for (const auto& t : source_types()) out.push_back(t.example);
  return out;
}

}  // namespace

const TableSpec& agent_root_spec() {
  static const TableSpec spec{{
      {.name = "agent", .type = ValueType::table, .nested = &agent_table_spec()},
      {.name = "mqtt", .type = ValueType::table, .nested = &agent_mqtt_spec()},
      {.name = "buffer", .type = ValueType::table, .nested = &buffer_spec()},
      {.name = "http", .type = ValueType::table, .nested = &http_spec()},
      {.name = "source",
       .type = ValueType::table_array,
       .description =
           "One [[source]] per thing to poll. All sources poll concurrently; a source whose "
           "poll fails is polled again one interval later plus an exponential backoff with "
           "jitter (1s doubling up to 30s), reset on success. Failed polls never produce "
           "samples; offline is only what the server says. Sources that poll a URL also take "
           "username + password_file (basic auth) or bearer_token_file. Check a "
           "configuration against the real servers with: streamtrack-agent --config "
           "/etc/streamtrack/agent.toml --once",
       .nested = &sources::source_common_spec(),
       .reloads = true,
       .examples = source_examples()},
  }};
  return spec;
}

std::string agent_config_example() {
  return config::render_example(
      agent_root_spec(),
      "streamtrack-agent configuration: the output of `streamtrack-agent config example`, "
      "generated from the key declarations.\n"
      "Check it with: streamtrack-agent --config /etc/streamtrack/agent.toml --check-config\n"
      "Durations are strings: \"500ms\", \"10s\", \"5m\", \"1h\", \"1d\", at most \"3650d\". "
      "Secrets are never written "
      "here: every *_file key names a file (a relative name is looked up in "
      "$CREDENTIALS_DIRECTORY, which systemd's LoadCredential= fills).\n"
      "Drop-ins: after this file, every *.toml file in the directory agent.d next to it is "
      "read in byte order of the file names. Tables merge key by key; a key set again replaces "
      "the earlier value (the later file wins); [[source]] entries are appended.\n"
      "SIGHUP (systemctl reload) applies what each key says; a configuration that fails "
      "validation is refused and the running one kept.");
}

namespace {

void read_agent_config(AgentConfig& c, const config::Section& root, config::Diagnostics& diag) {
  const auto agent = root.table("agent");
  c.id = agent.optional_string("id").value_or(host_name("agent"));
  if (c.id.empty()) diag.error(agent.position("id"), "agent", "id", "must not be empty");
  if (c.id == "alerts") {
    diag.error(agent.position("id"), "agent", "id",
               "\"alerts\" is reserved (it is the collector's alert topic)");
  }
  if (c.id == "live") {
    diag.error(agent.position("id"), "agent", "id",
               "\"live\" is reserved (it is the collector's live values topic)");
  }
  c.state_dir = agent.string("state_dir");
  config::read_log_settings(agent, c.log_level, c.log_format);
  c.shutdown_timeout = agent.duration("shutdown_timeout");

  const auto mqtt = root.table("mqtt");
  c.mqtt = config::read_mqtt_settings(mqtt, diag);
  c.max_inflight = static_cast<int>(mqtt.integer("max_inflight"));
  c.delivery = mqtt.string("delivery") == "broker" ? Delivery::broker : Delivery::committed;
  c.ack_timeout = mqtt.duration("ack_timeout");
  c.max_frame_samples = static_cast<std::size_t>(mqtt.integer("max_frame_samples"));
  c.max_frame_bytes = static_cast<std::size_t>(mqtt.integer("max_frame_bytes"));
  c.health_interval = mqtt.duration("health_interval");

  const auto buffer = root.table("buffer");
  c.buffer_max_rows = buffer.integer("max_rows");
  c.buffer_max_bytes = buffer.integer("max_bytes");
  c.buffer_policy =
      buffer.string("policy") == "drop_newest" ? DropPolicy::drop_newest : DropPolicy::drop_oldest;

  c.http_listen = root.table("http").string("listen");

  std::set<std::string> names;
  const auto tables = root.table_array("source");
  for (std::size_t i = 0; i < tables.size(); ++i) {
    const toml::table& t = *tables[i];
    const auto* name_node = t.get_as<std::string>("name");
    const std::string context =
        name_node ? "source \"" + name_node->get() + "\"" : "source #" + std::to_string(i + 1);
    const auto* type_node = t.get_as<std::string>("type");
    if (!type_node) {
      // Which other keys are valid depends on the type: nothing more can be checked.
      diag.error(config::position_of(t), context, "type",
                 t.contains("type") ? "expected a string" : "required key is missing");
      continue;
    }
    const SourceTypeInfo* info = find_source_type(type_node->get());
    if (!info) {
      std::string known;
      for (const auto& st : source_types()) {
        known += (known.empty() ? "" : ", ") + std::string(st.type);
      }
      diag.error(config::position_of(*type_node), context, "type",
                 "unknown source type \"" + type_node->get() + "\" (known: " + known + ")");
      continue;
    }
    auto section = config::validate(t, info->spec(), context, diag);
    SourceConfig sc;
    sc.type = std::string(info->type);
    sc.name = section.string("name");
    if (section.has("name") && sc.name.empty())
      diag.error(section.position("name"), context, "name", "must not be empty");
    if (!names.insert(sc.name).second) {
      diag.error(section.position("name"), context, "name",
                 "another source already has the name \"" + sc.name + "\"");
    }
    sc.interval = section.duration("interval");
    sc.timeout = section.duration("timeout");
    sc.max_body_bytes = section.integer("max_body_bytes");
    sc.section = section;
    c.sources.push_back(std::move(sc));
  }
  if (tables.empty()) {
    diag.error({.line = 1, .column = 1}, "", "source", "at least one [[source]] is required");
  }
}

}  // namespace

AgentConfig parse_agent_config(std::string_view text, const std::string& name) {
  return config::parse_config<AgentConfig>(text, name, agent_root_spec(), &read_agent_config);
}

AgentConfig load_agent_config(const std::string& path) {
  return config::load_config<AgentConfig>(path, "agent.d", agent_root_spec(), &read_agent_config);
}

}  // namespace streamtrack::agent
