#pragma once

#include "common/config/schema.hpp"

// The key declarations of collector.toml, one TableSpec per table (collector_root_spec() in
// collector_config.hpp is the whole file); collector_config.cpp reads a file against them.
namespace streamtrack::collector {

// One [[alert]] table: the keys every rule shares (rule.cpp checks which a kind uses).
const config::TableSpec& alert_rule_spec();

}  // namespace streamtrack::collector
