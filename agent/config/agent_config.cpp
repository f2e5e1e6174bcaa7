#include "agent/config/agent_config.hpp"

#include <set>

#include "agent/sources/registry.hpp"
#include "common/config/toml_file.hpp"
#include "common/util/host.hpp"

namespace streamtrack::agent {

using config::KeySpec;
using config::TableSpec;
using config::ValueType;

namespace {

const TableSpec& agent_table_spec() {
  static const TableSpec spec{{
      {.name = "id", .description = "Agent id in topics and samples (default: the host name)."},
      {.name = "state_dir", .default_value = std::string("/var/lib/streamtrack-agent"),
       .description = "Directory of the outbox database."},
      {.name = "log_level", .default_value = std::string("info"),
       .description = "Least severe level logged.",
       .one_of = {"error", "warning", "notice", "info", "debug"}},
      {.name = "shutdown_timeout", .type = ValueType::duration, .default_value = std::string("5s"),
       .description = "On SIGTERM, how long to keep flushing before exiting.", .min = 0},
  }};
  return spec;
}

const TableSpec& agent_mqtt_spec() {
  static const TableSpec spec = config::extend(
      config::mqtt_base_spec(),
      {
          {.name = "max_inflight", .type = ValueType::integer, .default_value = std::int64_t{256},
           .description = "QoS 1 publishes awaiting PUBACK at once.", .min = 1, .max = 65535},
          {.name = "delivery", .default_value = std::string("committed"),
           .description = "When a sample leaves the outbox: on the broker's PUBACK (\"broker\") "
                          "or on the collector's ack after its database commit (\"committed\").",
           .one_of = {"broker", "committed"}},
          {.name = "ack_timeout", .type = ValueType::duration, .default_value = std::string("60s"),
           .description = "delivery = \"committed\": publish again when no ack came this long.",
           .min = 1000},
          {.name = "health_interval", .type = ValueType::duration,
           .default_value = std::string("30s"), .description = "Period of health messages.",
           .min = 1000},
      });
  return spec;
}

const TableSpec& buffer_spec() {
  static const TableSpec spec{{
      {.name = "max_rows", .type = ValueType::integer, .default_value = std::int64_t{1'000'000},
       .description = "Most samples kept unsent.", .min = 1},
      {.name = "max_bytes", .type = ValueType::integer,
       .default_value = std::int64_t{256} * 1024 * 1024,
       .description = "Most payload bytes kept unsent.", .min = 4096},
      {.name = "policy", .default_value = std::string("drop_oldest"),
       .description = "What to drop when the outbox is full.",
       .one_of = {"drop_oldest", "drop_newest"}},
  }};
  return spec;
}

const TableSpec& http_spec() {
  static const TableSpec spec{{
      {.name = "listen", .default_value = std::string("127.0.0.1:9464"),
       .description = "Address of /metrics, /healthz and /readyz; \"\" turns it off."},
  }};
  return spec;
}

}  // namespace

const TableSpec& agent_root_spec() {
  static const TableSpec spec{{
      {.name = "agent", .type = ValueType::table, .nested = &agent_table_spec()},
      {.name = "mqtt", .type = ValueType::table, .nested = &agent_mqtt_spec()},
      {.name = "buffer", .type = ValueType::table, .nested = &buffer_spec()},
      {.name = "http", .type = ValueType::table, .nested = &http_spec()},
      {.name = "source", .type = ValueType::table_array, .description = "One per source."},
  }};
  return spec;
}

namespace {

AgentConfig build_agent_config(std::shared_ptr<const toml::table> document,
                               const std::string& name) {
  config::Diagnostics diag(name);
  const auto root = config::validate(*document, agent_root_spec(), "", diag);

  AgentConfig c;
  c.path = name;
  c.document = document;

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
  c.log_level = log::parse_level(agent.string("log_level")).value_or(log::Level::info);
  c.shutdown_timeout = agent.duration("shutdown_timeout");

  const auto mqtt = root.table("mqtt");
  c.mqtt = config::read_mqtt_settings(mqtt, diag);
  c.max_inflight = static_cast<int>(mqtt.integer("max_inflight"));
  c.delivery = mqtt.string("delivery") == "broker" ? Delivery::broker : Delivery::committed;
  c.ack_timeout = mqtt.duration("ack_timeout");
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
    const std::string context = name_node ? "source \"" + name_node->get() + "\""
                                          : "source #" + std::to_string(i + 1);
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
    if (section.has("name") && sc.name.empty()) diag.error(section.position("name"), context, "name", "must not be empty");
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
    diag.error({1, 1}, "", "source", "at least one [[source]] is required");
  }
  diag.throw_if_any();
  return c;
}

}  // namespace

AgentConfig parse_agent_config(std::string_view text, const std::string& name) {
  return build_agent_config(std::make_shared<toml::table>(config::parse_toml_text(text, name)),
                            name);
}

AgentConfig load_agent_config(const std::string& path) {
  return build_agent_config(std::make_shared<toml::table>(config::parse_toml_file(path)), path);
}

}  // namespace streamtrack::agent
