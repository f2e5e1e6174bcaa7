#pragma once

// Drives one poll of a source over real HTTP (libcurl) to a local fixture server.

#include <gtest/gtest.h>

#include <string>

#include "agent/http/multi_client.hpp"
#include "agent/sources/source.hpp"
#include "tests/support/harness.hpp"

namespace streamtrack::testing {

inline agent::sources::PollResult drive(agent::sources::Source& source, const Clock& clock) {
  agent::http::MultiClient client;
  auto poll = source.start_poll();
  while (auto request = poll->next_request()) {
    client.start(*request);
    std::vector<agent::http::MultiClient::Completion> done;
    const auto deadline = std::chrono::steady_clock::now() + k_event_timeout;
    while (done.empty() && std::chrono::steady_clock::now() < deadline) {
      done = client.perform(std::chrono::milliseconds{200});
    }
    if (done.empty()) {
      ADD_FAILURE() << "request did not complete: " << request->url;
      return agent::sources::PollResult::failure("test: request did not complete");
    }
    poll->on_outcome(done.front().outcome, clock.now());
  }
  return poll->result();
}

inline HttpFixtureServer::Response json_fixture(const std::string& relative, int status = 200) {
  HttpFixtureServer::Response r;
  r.status = status;
  r.body = HttpFixtureServer::fixture(relative);
  return r;
}

inline const Sample* sample_for(const std::vector<Sample>& samples, const std::string& channel) {
  for (const auto& s : samples) {
    if (s.channel == channel) return &s;
  }
  return nullptr;
}

// The values of every `name=value` pair of a query string, in order.
inline std::vector<std::string> query_values(const std::string& query, const std::string& name) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= query.size()) {
    auto amp = query.find('&', pos);
    if (amp == std::string::npos) amp = query.size();
    const auto pair = query.substr(pos, amp - pos);
    if (pair.rfind(name + "=", 0) == 0) out.push_back(pair.substr(name.size() + 1));
    pos = amp + 1;
  }
  return out;
}

}  // namespace streamtrack::testing
