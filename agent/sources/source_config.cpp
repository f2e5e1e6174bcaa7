#include "agent/sources/source_config.hpp"

#include "common/config/schema.hpp"

namespace streamtrack::agent::sources {

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

}  // namespace streamtrack::agent::sources
