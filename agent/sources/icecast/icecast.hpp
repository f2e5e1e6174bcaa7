#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "agent/config/agent_config.hpp"
#include "agent/sources/source.hpp"
#include "agent/sources/source_type.hpp"

// `icecast`: /status-json.xsl of an Icecast server.
namespace streamtrack::agent::sources::icecast {

// `icestats.source` is an object (one mount), an array (several) or absent (none). Each source
// is a live mount; its channel is the mount from `listenurl` without the leading "/" (the
// XSLT drops the mount attribute). viewers = listeners, title (numbers such as 1984 kept as
// text, "artist - title" when both exist), category = genre, bitrate, started_at from
// stream_start_iso8601, audio codec from server_type.
PollResult parse(std::string_view body);

// The `icecast` entry of the source registry: its keys, factory and `config example` entry.
SourceTypeInfo source_type();

}  // namespace streamtrack::agent::sources::icecast
