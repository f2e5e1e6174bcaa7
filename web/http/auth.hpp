#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "web/api/request.hpp"
#include "web/config/web_config.hpp"

// Optional authentication of every request but /healthz and /readyz: a bearer token
// (Authorization: Bearer <token>, compared in constant time) or HTTP basic against
// "user:<crypt(3) hash>" lines (yescrypt, SHA-512, ... whatever libcrypt verifies).
namespace streamtrack::web::http {

class Auth {
 public:
  // Throws std::runtime_error when the password file has no usable line.
  Auth(AuthMode mode, const std::optional<std::string>& token, const std::string& htpasswd);

  // nullopt when the request may pass, else the 401 reply to send.
  std::optional<Response> check(const Request& request) const;
  // True when check() would run no crypt(3): no auth, a token, no Basic credential, or one
  // already verified. Only such requests may be answered on the event loop.
  bool is_cheap(const Request& request) const;
  AuthMode mode() const { return m_mode; }
  // crypt(3) runs done so far (a verified Authorization value is remembered, so a dashboard's
  // stream of requests costs one).
  std::uint64_t hash_computations() const;

 private:
  bool verify_basic(const std::string& header) const;

  AuthMode m_mode;
  std::string m_token;
  std::map<std::string, std::string> m_hashes;  // user → crypt hash
  mutable std::mutex m_mutex;
  // SHA-256 digests of the Authorization values that passed, at most 256. Digests, not the
  // values: a lookup's timing then tells an attacker about digests, which lead to no password.
  mutable std::set<std::string> m_verified;
  mutable std::uint64_t m_computations = 0;
};

}  // namespace streamtrack::web::http
