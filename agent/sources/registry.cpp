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

using config::KeySpec;
using config::TableSpec;
using config::ValueType;

const TableSpec& source_common_spec() {
  static const TableSpec spec{{
      {.name = "type",
       .required = true,
       .description = "Source type: one of those shown below, each with its own keys."},
      {.name = "name",
       .required = true,
       .description = "Unique name of this source; shown in logs, health and metrics."},
      {.name = "interval",
       .type = ValueType::duration,
       .required = true,
       .description = "Time between polls.",
       .min = 100},
      {.name = "timeout",
       .type = ValueType::duration,
       .default_value = std::string("10s"),
       .description = "Give up one poll request after this long.",
       .min = 100},
      {.name = "max_body_bytes",
       .type = ValueType::integer,
       .default_value = std::int64_t{4 << 20},
       .description = "Larger responses are an error, not a sample.",
       .min = 1024},
  }};
  return spec;
}

namespace {

// Common keys followed by those of sources that poll one HTTP endpoint.
std::vector<KeySpec> http_keys() {
  auto keys = source_common_spec().keys;
  keys.insert(
      keys.end(),
      {
          {.name = "url", .required = true, .description = "Endpoint to poll."},
          {.name = "username", .description = "HTTP basic auth user."},
          {.name = "password_file", .description = "HTTP basic auth password, from a file."},
          {.name = "bearer_token_file", .description = "Bearer token, from a file."},
      });
  return keys;
}

// Keys of sources that discover streams from a server's list.
std::vector<KeySpec> discovery_keys() {
  auto keys = http_keys();
  keys.push_back({.name = "streams",
                  .type = ValueType::string_list,
                  .description = "Only these streams; a listed stream that the server does not "
                                 "report is reported offline."});
  return keys;
}

const TableSpec& discovering_spec() {
  static const TableSpec spec{discovery_keys()};
  return spec;
}

const TableSpec& single_stream_spec() {
  static const TableSpec spec{[] {
    auto keys = http_keys();
    keys.push_back(
        {.name = "channel", .description = "Channel name in samples (default: the source name)."});
    return keys;
  }()};
  return spec;
}

const TableSpec& http_json_fields_spec() {
  static const TableSpec spec{{
      {.name = "live", .required = true, .description = "JSON Pointer to a boolean."},
      {.name = "viewers", .description = "JSON Pointer to an integer."},
      {.name = "title", .description = "JSON Pointer to a string."},
      {.name = "category", .description = "JSON Pointer to a string."},
      {.name = "stream_id", .description = "JSON Pointer to a string or integer."},
      {.name = "started_at", .description = "JSON Pointer to an RFC 3339 string."},
      {.name = "bitrate_kbps", .description = "JSON Pointer to a number."},
      {.name = "fps", .description = "JSON Pointer to a number."},
      {.name = "dropped_frames", .description = "JSON Pointer to an integer."},
      {.name = "chat_messages", .description = "JSON Pointer to an integer."},
      {.name = "chatters", .description = "JSON Pointer to an integer."},
  }};
  return spec;
}

const TableSpec& http_json_spec() {
  static const TableSpec spec{[] {
    auto keys = single_stream_spec().keys;
    keys.push_back({.name = "fields",
                    .type = ValueType::table,
                    .required = true,
                    .description = "Sample field -> JSON Pointer into the response.",
                    .nested = &http_json_fields_spec()});
    return keys;
  }()};
  return spec;
}

}  // namespace

const std::vector<SourceTypeInfo>& source_types() {
  static const std::vector<SourceTypeInfo> types{
      {"nginx_rtmp", &discovering_spec, &sources::nginx_rtmp::create,
       {.comment = "nginx with the RTMP module (location /stat { rtmp_stat all; }): every stream "
                   "of every application is a channel \"<application>/<stream>\"; viewers = "
                   "RTMP players. `streams` (nginx_rtmp, mediamtx, srs, icecast): only those "
                   "channels are reported, and a listed stream the server does not report is "
                   "reported offline.",
        .toml = "type = \"nginx_rtmp\"\nname = \"rtmp\"\nurl = \"http://127.0.0.1:8080/stat\"\n"
                "interval = \"10s\"\n# streams = [\"live/main\"]\n",
        .active = true}},
      {"owncast", &single_stream_spec, &sources::owncast::create,
       {.comment = "Owncast: GET /api/status. One channel, named by `channel` (default: the "
                   "source name).",
        .toml = "type = \"owncast\"\nname = \"owncast\"\nurl = "
                "\"http://127.0.0.1:8080/api/status\"\nchannel = \"owncast\"\ninterval = \"15s\"\n"}},
      {"mediamtx", &discovering_spec, &sources::mediamtx::create,
       {.comment = "MediaMTX: GET /v3/paths/list (all pages); channel = path name, viewers = "
                   "readers. Remote servers need credentials with the \"api\" action.",
        .toml = "type = \"mediamtx\"\nname = \"mediamtx\"\nurl = "
                "\"http://127.0.0.1:9997/v3/paths/list\"\ninterval = \"10s\"\n"
                "username = \"streamtrack\"\npassword_file = \"mediamtx.password\"\n"}},
      {"srs", &discovering_spec, &sources::srs::create,
       {.comment = "SRS: GET /api/v1/streams (count=100 is added when the URL has no count); "
                   "channel = \"<app>/<stream>\".",
        .toml = "type = \"srs\"\nname = \"srs\"\nurl = \"http://127.0.0.1:1985/api/v1/streams\"\n"
                "interval = \"10s\"\n"}},
      {"icecast", &discovering_spec, &sources::icecast::create,
       {.comment = "Icecast: /status-json.xsl; channel = mount without the leading \"/\", "
                   "viewers = listeners.",
        .toml = "type = \"icecast\"\nname = \"radio\"\nurl = "
                "\"http://127.0.0.1:8000/status-json.xsl\"\ninterval = \"30s\"\n"
                "streams = [\"live.mp3\"]\n"}},
      {"http_json", &http_json_spec, &sources::http_json::create,
       {.comment = "Any JSON endpoint, fields mapped with JSON Pointers (RFC 6901). `live` is "
                   "required (a boolean); the others are optional: viewers, title, category, "
                   "stream_id, started_at (RFC 3339), bitrate_kbps, fps, dropped_frames, "
                   "chat_messages, chatters. A pointer that finds nothing (or null) leaves the "
                   "field unknown; a value of the wrong type fails the poll.",
        .toml = "type = \"http_json\"\nname = \"studio\"\nurl = "
                "\"http://127.0.0.1:8000/status.json\"\nchannel = \"main\"\ninterval = \"5s\"\n"
                "bearer_token_file = \"studio.token\"\n[source.fields]\nlive = \"/online\"\n"
                "viewers = \"/stats/viewers\"\n"}},
      {"twitch", &sources::twitch::spec, &sources::twitch::create,
       {.comment = "Twitch: Helix /streams for up to 100 logins a request, app token by client "
                   "credentials (minted again once on 401), Ratelimit-* headers honoured. chat = "
                   "true joins each channel's chat anonymously (read-only) and adds "
                   "chat_messages and chatters per sample. Default credential: "
                   "twitch-client-secret.",
        .toml = "type = \"twitch\"\nname = \"twitch\"\ninterval = \"30s\"\nclient_id = \"...\"\n"
                "client_secret_file = \"/etc/streamtrack/twitch.secret\"\n"
                "channels = [\"somestreamer\", \"another\"]\nchat = true\n"}},
      {"youtube", &sources::youtube::spec, &sources::youtube::create,
       {.comment = "YouTube: channel ids resolved to their live video with search.list "
                   "(search_cost units a call; 100 under the legacy quota, 1 under the 2026 "
                   "granular quota), viewers from videos.list (1 unit per 50 videos). "
                   "daily_quota is spread over the day (reset at midnight Pacific); polls are "
                   "skipped rather than exceeding it. Default credential: youtube-api-key.",
        .toml = "type = \"youtube\"\nname = \"youtube\"\ninterval = \"60s\"\n"
                "api_key_file = \"/etc/streamtrack/youtube.key\"\n"
                "channels = [\"UCxxxxxxxxxxxxxxxxxxxxxx\"]\ndaily_quota = 10000\n"
                "search_cost = 100\n"}},
      {"kick", &sources::kick::spec, &sources::kick::create,
       {.comment = "Kick: /public/v1/channels by slug, app token by client credentials, 429 "
                   "answered with exponential backoff. Default credential: kick-client-secret.",
        .toml = "type = \"kick\"\nname = \"kick\"\ninterval = \"30s\"\nclient_id = \"...\"\n"
                "client_secret_file = \"/etc/streamtrack/kick.secret\"\n"
                "channels = [\"examplestreamer\"]\n"}},
      {"synthetic", &sources::synthetic::spec, &sources::synthetic::create,
       {.comment = "Synthetic: a load and test source, not a platform. Each poll yields one live "
                   "sample for each of `channels` channels (\"<channel_prefix><index>\", index "
                   "from 0) without any network I/O, so the agent produces channels / interval "
                   "samples per second. The figures are a pure function of seed, channel and "
                   "poll number; `rounds` limits the polls that yield samples (0: no limit). "
                   "Used by the fault suite (tests/faults/) and the soak runs (bench/soak/); do "
                   "not point it at a production collector.",
        .toml = "type = \"synthetic\"\nname = \"load\"\ninterval = \"1s\"\nchannels = 100\n"
                "channel_prefix = \"synthetic-\"\nseed = 0\nrounds = 0\n"}},
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
