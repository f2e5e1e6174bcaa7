#include "agent/sources/oauth/app_token.hpp"

#include <algorithm>

#include "agent/http/url.hpp"
#include "agent/sources/json_support.hpp"
#include "agent/sources/oauth/redact.hpp"
#include "agent/sources/source.hpp"
#include "common/daemon/log.hpp"

namespace streamtrack::agent::sources::oauth {

namespace {

constexpr std::chrono::seconds k_expiry_margin{60};

}  // namespace

AppToken::AppToken(std::string token_url, std::string client_id, std::string client_secret,
                   std::chrono::milliseconds timeout)
    : m_token_url(std::move(token_url)),
      m_client_id(std::move(client_id)),
      m_client_secret(std::move(client_secret)),
      m_timeout(timeout) {}

std::optional<std::string> AppToken::current(TimePoint now) const {
  if (!m_token || now + k_expiry_margin >= m_expires) return std::nullopt;
  return m_token;
}

http::Request AppToken::mint_request() const {
  http::Request r;
  r.method = "POST";
  r.url = m_token_url;
  r.timeout = m_timeout;
  r.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  r.body = "client_id=" + http::percent_encode(m_client_id) +
           "&client_secret=" + http::percent_encode(m_client_secret) +
           "&grant_type=client_credentials";
  return r;
}

std::optional<std::string> AppToken::accept(const http::Outcome& outcome, TimePoint now) {
  const auto fail = [this](const std::string& why) {
    return redact(redact("token request failed: " + why, m_client_secret), m_token.value_or(""));
  };
  if (!outcome) return fail(outcome.error());
  if (auto problem = check_response(*outcome, BodyKind::json)) return fail(*problem);
  auto doc = parse_json(outcome->body);
  if (!doc) return fail(doc.error());
  const auto* token = member(*doc, "access_token");
  if (!token || !token->is_string() || token->get_ref<const std::string&>().empty()) {
    return fail("\"access_token\" is missing");
  }
  std::chrono::seconds lifetime{3600};
  if (const auto* expires = member(*doc, "expires_in"); expires && !expires->is_null()) {
    const auto seconds = as_count(*expires);
    if (!seconds)
      return fail("\"expires_in\": expected a number of seconds, got " + expires->dump());
    // A token claiming to live longer is minted again after a year (a longer lifetime might
    // not even fit a TimePoint).
    constexpr std::int64_t k_longest_lifetime = 365LL * 24 * 3600;
    lifetime = std::chrono::seconds{std::min(*seconds, k_longest_lifetime)};
  }
  m_token = token->get<std::string>();
  m_expires = now + lifetime;
  ++m_mints;
  return std::nullopt;
}

void AppToken::invalidate() {
  m_token.reset();
}

std::optional<http::Request> AppToken::mint_if_needed(TimePoint now,
                                                      std::size_t max_body_bytes) const {
  if (current(now)) return std::nullopt;
  auto r = mint_request();
  r.max_body_bytes = max_body_bytes;
  return r;
}

bool AppToken::remint_after_401(const http::Response& response, bool& reminted,
                                const std::string& source_name) {
  if (response.status != 401 || reminted) return false;
  reminted = true;
  invalidate();
  log::info("token rejected, minting a new one source=" + source_name);
  return true;
}

}  // namespace streamtrack::agent::sources::oauth
