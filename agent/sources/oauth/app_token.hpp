#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include "agent/http/request.hpp"
#include "common/util/time.hpp"

// An app access token from an OAuth 2 client-credentials grant, shared by the platform sources
// that need one (twitch, kick), cached until shortly before it expires. The secret and the
// token never appear in any message it returns.
namespace streamtrack::agent::sources::oauth {

class AppToken {
 public:
  // `token_url` takes the form-encoded POST; `label` names the endpoint in errors ("token").
  AppToken(std::string token_url, std::string client_id, std::string client_secret,
           std::chrono::milliseconds timeout);

  // The cached token when it is still valid at `now` (a minute of margin before expiry).
  std::optional<std::string> current(TimePoint now) const;

  // The POST that mints a new token.
  http::Request mint_request() const;

  // Takes the token endpoint's answer. Returns nullopt once a token is stored, otherwise the
  // reason ("token request failed: HTTP 403: invalid client secret").
  std::optional<std::string> accept(const http::Outcome& outcome, TimePoint now);

  // Forgets the token (after a 401), so the next current() is nullopt.
  void invalidate();

  // The steps of one poll against the API the token is for. mint_if_needed: the mint request
  // (answering at most `max_body_bytes`) when no token is valid at `now`, nullopt otherwise.
  std::optional<http::Request> mint_if_needed(TimePoint now, std::size_t max_body_bytes) const;
  // remint_after_401: for the first 401 answer of a poll (`reminted` false), forgets the token,
  // sets `reminted`, logs "token rejected, minting a new one source=<source_name>" and returns
  // true (the poll mints again and repeats its request); false for any other answer.
  bool remint_after_401(const http::Response& response, bool& reminted,
                        const std::string& source_name);

  // How many tokens were minted successfully.
  int mints() const { return m_mints; }
  const std::string& client_id() const { return m_client_id; }

 private:
  std::string m_token_url;
  std::string m_client_id;
  std::string m_client_secret;
  std::chrono::milliseconds m_timeout;
  std::optional<std::string> m_token;
  TimePoint m_expires{};
  int m_mints = 0;
};

}  // namespace streamtrack::agent::sources::oauth
