#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "agent/config/agent_config.hpp"
#include "agent/sources/source.hpp"
#include "agent/sources/source_type.hpp"

// `owncast`: GET /api/status of an Owncast server (one channel).
namespace streamtrack::agent::sources::owncast {

// One sample for `channel`: live = `online` (required boolean); viewers = `viewerCount`, which
// Owncast omits when it is 0 or hidden, so a missing count is unknown while online and 0 while
// offline; title = `streamTitle` (when not empty); started_at = `lastConnectTime` while online.
PollResult parse(std::string_view body, const std::string& channel);

// The `owncast` entry of the source registry: its keys, factory and `config example` entry.
SourceTypeInfo source_type();

}  // namespace streamtrack::agent::sources::owncast
