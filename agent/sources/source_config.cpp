#include "agent/sources/source_config.hpp"

#include <iterator>

#include "common/util/duration.hpp"

namespace streamtrack::agent::sources {

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
       .default_value = format_duration(http::k_default_timeout),
       .description = "Give up one poll request after this long.",
       .min = 100},
      {.name = "max_body_bytes",
       .type = ValueType::integer,
       .default_value = static_cast<std::int64_t>(http::k_default_max_body_bytes),
       .description = "Larger responses are an error, not a sample.",
       .min = 1024},
  }};
  return spec;
}

const TableSpec& http_source_spec() {
  static const TableSpec spec = config::extend(
      source_common_spec(),
      {
          {.name = "url", .required = true, .description = "Endpoint to poll."},
          {.name = "username", .description = "HTTP basic auth user."},
          {.name = "password_file", .description = "HTTP basic auth password, from a file."},
          {.name = "bearer_token_file", .description = "Bearer token, from a file."},
      });
  return spec;
}

const TableSpec& discovering_source_spec() {
  static const TableSpec spec = config::extend(
      http_source_spec(),
      {{.name = "streams",
        .type = ValueType::string_list,
        .description = "Only these streams; a listed stream that the server does not report is "
                       "reported offline."}});
  return spec;
}

const TableSpec& single_stream_source_spec() {
  static const TableSpec spec = config::extend(
      http_source_spec(),
      {{.name = "channel", .description = "Channel name in samples (default: the source name)."}});
  return spec;
}

TableSpec platform_source_spec(const PlatformKeys& keys, std::vector<KeySpec> more) {
  std::vector<KeySpec> shared{
      {.name = "channels",
       .type = ValueType::string_list,
       .required = true,
       .description = keys.channels_description},
      {.name = "api_base_url",
       .default_value = keys.default_api_base_url,
       .description = "API base URL (for proxies and tests)."},
  };
  shared.insert(shared.end(), std::make_move_iterator(more.begin()),
                std::make_move_iterator(more.end()));
  return config::extend(source_common_spec(), std::move(shared));
}

http::Request base_request(const SourceConfig& source, const std::string& config_path) {
  const auto& s = source.section;
  config::Diagnostics diag(config_path);
  http::Request r;
  r.url = s.string("url");
  r.timeout = source.timeout;
  r.max_body_bytes = static_cast<std::size_t>(source.max_body_bytes);
  const auto user = s.optional_string("username");
  const auto password = read_secret(s, "password_file", "", diag);
  const auto token = read_secret(s, "bearer_token_file", "", diag);
  if (user && token) {
    diag.error(s.position("bearer_token_file"), s.context(), "bearer_token_file",
               "use either username + password_file or bearer_token_file, not both");
  }
  if (s.has("password_file") && !user) {
    diag.error(s.position("password_file"), s.context(), "password_file", "needs username as well");
  }
  diag.throw_if_any();
  if (user) r.basic_auth = http::BasicAuth{*user, password.value_or("")};
  if (token) r.headers.emplace_back("Authorization", "Bearer " + *token);
  return r;
}

std::string channel_name(const SourceConfig& source) {
  return source.section.optional_string("channel").value_or(source.name);
}

std::vector<std::string> stream_filter(const SourceConfig& source) {
  return source.section.has("streams") ? source.section.strings("streams")
                                       : std::vector<std::string>{};
}

BodyParser stream_filtered(const SourceConfig& source, BodyParser parse) {
  return [streams = stream_filter(source), parse = std::move(parse)](std::string_view body,
                                                                     TimePoint now) -> PollResult {
    auto samples = parse(body, now);
    if (!samples) return samples;
    return filter_streams(std::move(samples).value(), streams);
  };
}

}  // namespace streamtrack::agent::sources
