#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "agent/config/agent_config.hpp"
#include "agent/sources/source.hpp"
#include "agent/sources/source_type.hpp"

// `nginx_rtmp`: the `rtmp_stat` XML of nginx-rtmp-module.
namespace streamtrack::agent::sources::nginx_rtmp {

// Every <stream> of every <application>'s <live> section becomes a sample for channel
// "<application>/<stream>": live while <publishing/> is present, viewers = nclients minus the
// publisher, bitrate from bw_in (bit/s), fps/size/codecs from <meta>, started_at from the
// publishing client's connection time (relative to `now`). Errors for a body that is not
// well-formed XML, has no <rtmp> root, or a stream without a name or a numeric nclients.
PollResult parse(std::string_view body, TimePoint now);

// The `nginx_rtmp` entry of the source registry: its keys, factory and `config example` entry.
SourceTypeInfo source_type();

}  // namespace streamtrack::agent::sources::nginx_rtmp
