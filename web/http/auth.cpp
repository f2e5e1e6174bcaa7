#include "web/http/auth.hpp"

#include <crypt.h>
#include <openssl/evp.h>

#include <cstring>
#include <memory>
#include <stdexcept>

#include "common/util/base64.hpp"
#include "web/api/params.hpp"

namespace streamtrack::web::http {

namespace {

bool constant_time_equal(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const auto n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const auto x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const auto y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff = static_cast<unsigned char>(diff | (x ^ y));
  }
  return diff == 0;
}

Response unauthorized(AuthMode mode) {
  Response r;
  r.status = 401;
  r.body = api::ApiError(401, "unauthorized", "Authorization", "authentication required").body();
  r.headers.emplace_back("WWW-Authenticate", mode == AuthMode::basic
                                                 ? "Basic realm=\"StreamTrack\", charset=\"UTF-8\""
                                                 : "Bearer realm=\"StreamTrack\"");
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

// SHA-256 of an Authorization value (32 raw bytes).
std::string credential_digest(const std::string& header) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(header.data(), header.size(), digest, &size, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("web: SHA-256 unavailable from libcrypto");
  }
  return std::string(reinterpret_cast<const char*>(digest), size);
}

}  // namespace

Auth::Auth(AuthMode mode, const std::optional<std::string>& token, const std::string& htpasswd)
    : m_mode(mode), m_token(token.value_or("")) {
  if (mode != AuthMode::basic) return;
  std::size_t start = 0;
  while (start < htpasswd.size()) {
    auto end = htpasswd.find('\n', start);
    if (end == std::string::npos) end = htpasswd.size();
    std::string line = htpasswd.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 >= line.size() ||
        line[colon + 1] != '$') {
      continue;  // only crypt(3) hashes with an id ("$y$", "$6$", ...), never plain text
    }
    m_hashes[line.substr(0, colon)] = line.substr(colon + 1);
  }
  if (m_hashes.empty()) {
    throw std::runtime_error(
        "[auth] htpasswd_file: no \"user:<crypt hash>\" line (make one with mkpasswd or "
        "openssl passwd -6)");
  }
}

std::optional<Response> Auth::check(const Request& request) const {
  if (m_mode == AuthMode::none) return std::nullopt;
  const auto header = request.header("authorization");
  if (!header || header->size() > 4096) return unauthorized(m_mode);
  if (m_mode == AuthMode::token) {
    if (header->starts_with("Bearer ") && constant_time_equal(header->substr(7), m_token)) {
      return std::nullopt;
    }
    return unauthorized(m_mode);
  }
  if (!header->starts_with("Basic ")) return unauthorized(m_mode);
  const auto digest = credential_digest(*header);
  {
    std::lock_guard lock(m_mutex);
    if (m_verified.contains(digest)) return std::nullopt;
  }
  if (!verify_basic(*header)) return unauthorized(m_mode);
  std::lock_guard lock(m_mutex);
  if (m_verified.size() >= 256) m_verified.clear();
  m_verified.insert(digest);
  return std::nullopt;
}

bool Auth::is_cheap(const Request& request) const {
  if (m_mode != AuthMode::basic) return true;
  const auto header = request.header("authorization");
  if (!header || header->size() > 4096 || !header->starts_with("Basic ")) return true;
  const auto digest = credential_digest(*header);
  std::lock_guard lock(m_mutex);
  return m_verified.contains(digest);
}

bool Auth::verify_basic(const std::string& header) const {
  const auto decoded = base64_decode(std::string_view(header).substr(6), Base64Alphabet::standard);
  if (!decoded) return false;
  const auto colon = decoded->find(':');
  if (colon == std::string::npos) return false;
  const auto user = decoded->substr(0, colon);
  const auto password = decoded->substr(colon + 1);
  if (password.find('\0') != std::string::npos) return false;
  const auto it = m_hashes.find(user);
  // An unknown user costs the same hash as a known one, so timing does not tell which exist.
  const auto& hash = it != m_hashes.end() ? it->second : m_hashes.begin()->second;
  {
    std::lock_guard lock(m_mutex);
    ++m_computations;
  }
  auto data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  const char* out = crypt_r(password.c_str(), hash.c_str(), data.get());
  return it != m_hashes.end() && out != nullptr && out[0] != '*' && constant_time_equal(out, hash);
}

std::uint64_t Auth::hash_computations() const {
  std::lock_guard lock(m_mutex);
  return m_computations;
}

}  // namespace streamtrack::web::http
