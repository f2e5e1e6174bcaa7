#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "agent/config/agent_config.hpp"
#include "agent/sources/source.hpp"
#include "agent/sources/source_type.hpp"

// `srs`: GET /api/v1/streams of an SRS server.
namespace streamtrack::agent::sources::srs {

// Checks `code` (SRS reports errors as HTTP 200 with a non-zero code), then one sample per
// stream, channel "<app>/<name>": live = publish.active, viewers = clients minus the publisher,
// bitrate = kbps.recv_30s, stream_id = id, size and codecs from video/audio.
PollResult parse(std::string_view body);

// The `srs` entry of the source registry: its keys, factory and `config example` entry.
SourceTypeInfo source_type();

}  // namespace streamtrack::agent::sources::srs
