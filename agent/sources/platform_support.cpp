#include "agent/sources/platform_support.hpp"

#include <algorithm>
#include <cctype>

#include "agent/sources/json_support.hpp"
#include "agent/sources/oauth/redact.hpp"

namespace streamtrack::agent::sources {

std::string lower_ascii(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::vector<std::vector<std::string>> batches(const std::vector<std::string>& items,
                                              std::size_t size) {
  std::vector<std::vector<std::string>> out;
  for (std::size_t i = 0; i < items.size(); i += size) {
    out.emplace_back(items.begin() + static_cast<std::ptrdiff_t>(i),
                     items.begin() + static_cast<std::ptrdiff_t>(std::min(i + size, items.size())));
  }
  return out;
}

Result<nlohmann::json> parse_json_list(std::string_view body, std::string_view key) {
  using R = Result<nlohmann::json>;
  auto doc = parse_json(body);
  if (!doc) return R::failure(doc.error());
  if (!doc->is_object())
    return R::failure(std::string("expected a JSON object, got ") + json_type_name(*doc));
  const auto* list = member(*doc, key);
  const auto name = "\"" + std::string(key) + "\"";
  if (!list) return R::failure(name + " is missing");
  if (!list->is_array())
    return R::failure(name + ": expected an array, got " + json_type_name(*list));
  return doc;
}

std::optional<std::string> read_platform_secret(const config::Section& section,
                                                const std::vector<std::string>& channels,
                                                std::string_view secret_key,
                                                std::string_view credential,
                                                config::Diagnostics& diag) {
  auto secret = config::read_secret(section, secret_key, credential, diag);
  if (!secret && diag.empty()) {
    diag.error(section.position(), section.context(), secret_key,
               "required (or a systemd credential named " + std::string(credential) + ")");
  }
  if (channels.empty())
    diag.error(section.position("channels"), section.context(), "channels", "must not be empty");
  return secret;
}

void PlatformPoll::fail(const std::string& why) {
  m_result = PollResult::failure(oauth::redact(why, m_secret));
  m_done = true;
}

void PlatformPoll::succeed() {
  m_result = std::move(m_samples);
  m_done = true;
}

void PlatformPoll::keep_first(Sample sample) {
  if (m_seen.insert(sample.channel).second) m_samples.push_back(std::move(sample));
}

}  // namespace streamtrack::agent::sources
