#pragma once

#include <string>

// Keeping a source's secrets (client secrets, API keys) out of the errors it reports.
namespace streamtrack::agent::sources::oauth {

// Replaces every occurrence of `secret` in `text` by "<redacted>" (no-op for an empty secret).
std::string redact(std::string text, const std::string& secret);

}  // namespace streamtrack::agent::sources::oauth
