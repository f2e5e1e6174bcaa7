#include "agent/sources/registry.hpp"

#include "agent/sources/http_json/http_json.hpp"
#include "agent/sources/icecast/icecast.hpp"
#include "agent/sources/kick/kick.hpp"
#include "agent/sources/mediamtx/mediamtx.hpp"
#include "agent/sources/nginx_rtmp/nginx_rtmp.hpp"
#include "agent/sources/owncast/owncast.hpp"
#include "agent/sources/srs/srs.hpp"
#include "agent/sources/synthetic/synthetic.hpp"
#include "agent/sources/twitch/twitch.hpp"
#include "agent/sources/youtube/youtube.hpp"

namespace streamtrack::agent {

const std::vector<SourceTypeInfo>& source_types() {
  // One line per type; everything else about a type lives in agent/sources/<type>/.
  static const std::vector<SourceTypeInfo> types{
      sources::nginx_rtmp::source_type(), sources::owncast::source_type(),
      sources::mediamtx::source_type(),   sources::srs::source_type(),
      sources::icecast::source_type(),    sources::http_json::source_type(),
      sources::twitch::source_type(),     sources::youtube::source_type(),
      sources::kick::source_type(),       sources::synthetic::source_type(),
  };
  return types;
}

const SourceTypeInfo* find_source_type(std::string_view type) {
  for (const auto& t : source_types()) {
    if (t.type == type) return &t;
  }
  return nullptr;
}

}  // namespace streamtrack::agent
