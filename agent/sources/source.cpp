#include "agent/sources/source.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <set>

namespace streamtrack::agent::sources {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// A short, single-line excerpt of a body for error messages.
std::string excerpt(std::string_view body) {
  std::string out;
  for (const char c : body.substr(0, 200)) {
    out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  }
  if (body.size() > 200) out += "...";
  return out;
}

// The message of a JSON error body such as {"status":"error","error":"path not found"}.
std::optional<std::string> error_message(std::string_view body) {
  const auto doc = nlohmann::json::parse(body, nullptr, false);
  if (!doc.is_object()) return std::nullopt;
  for (const char* key : {"message", "error", "error_description"}) {
    const auto it = doc.find(key);
    if (it != doc.end() && it->is_string() && !it->get_ref<const std::string&>().empty()) {
      return it->get<std::string>();
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> check_response(const http::Response& response, BodyKind kind) {
  if (response.status < 200 || response.status > 299) {
    std::string reason = "HTTP " + std::to_string(response.status);
    if (auto message = error_message(response.body)) {
      reason += ": " + *message;
    } else if (!response.body.empty()) {
      reason += ": " + excerpt(response.body);
    }
    return reason;
  }
  const std::string type = lower(response.content_type);
  if (type.empty() || type.find("text/plain") != std::string::npos) return std::nullopt;
  const bool ok = kind == BodyKind::json ? (type.find("json") != std::string::npos ||
                                            type.find("javascript") != std::string::npos)
                                         : type.find("xml") != std::string::npos;
  if (ok) return std::nullopt;
  return std::string("expected ") + (kind == BodyKind::json ? "JSON" : "XML") +
         ", got content type \"" + response.content_type + "\"";
}

SingleRequestPoll::SingleRequestPoll(http::Request request, BodyKind kind, BodyParser parse)
    : m_request(std::move(request)), m_kind(kind), m_parse(std::move(parse)) {}

std::optional<http::Request> SingleRequestPoll::next_request() {
  auto r = std::move(m_request);
  m_request.reset();
  return r;
}

void SingleRequestPoll::on_outcome(const http::Reply& outcome, TimePoint now) {
  if (!outcome) {
    m_result = PollResult::failure(outcome.error());
    return;
  }
  if (auto problem = check_response(*outcome, m_kind)) {
    m_result = PollResult::failure(*problem);
    return;
  }
  m_result = m_parse(outcome->body, now);
}

PollResult SingleRequestPoll::result() {
  return m_result;
}

std::vector<Sample> filter_streams(std::vector<Sample> samples,
                                   const std::vector<std::string>& streams) {
  if (streams.empty()) return samples;
  std::vector<Sample> out;
  std::set<std::string> seen;
  for (auto& s : samples) {
    if (std::find(streams.begin(), streams.end(), s.channel) == streams.end()) continue;
    if (!seen.insert(s.channel).second) continue;
    out.push_back(std::move(s));
  }
  for (const auto& name : streams) {
    if (seen.count(name)) continue;
    Sample offline;
    offline.channel = name;
    offline.live = false;
    out.push_back(std::move(offline));
  }
  return out;
}

}  // namespace streamtrack::agent::sources
