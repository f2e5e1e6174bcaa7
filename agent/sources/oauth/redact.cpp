#include "agent/sources/oauth/redact.hpp"

namespace streamtrack::agent::sources::oauth {

std::string redact(std::string text, const std::string& secret) {
  if (secret.empty()) return text;
  for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos)) {
    text.replace(pos, secret.size(), "<redacted>");
    pos += 10;
  }
  return text;
}

}  // namespace streamtrack::agent::sources::oauth
