#pragma once

// Drives a source's Poll state machine without a socket: every request it makes is recorded
// and answered by the next canned outcome, at the time of a ManualClock the test moves.

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "agent/http/request.hpp"
#include "agent/sources/source.hpp"

namespace streamtrack::testing {

// A response with `status`, a JSON body and the given (lower-case) headers.
inline agent::http::Reply canned_json(long status, std::string body,
                                      std::map<std::string, std::string> headers = {}) {
  agent::http::Response r;
  r.status = status;
  r.content_type = "application/json";
  r.headers = std::move(headers);
  r.body = std::move(body);
  return agent::http::Reply(std::move(r));
}

// A transport error, as the HTTP client reports one ("timed out after 10s").
inline agent::http::Reply canned_failure(std::string error) {
  return agent::http::Reply::failure(std::move(error));
}

// One poll: the requests it sent, in order, and its result.
struct CannedPoll {
  std::vector<agent::http::Request> requests;
  agent::sources::PollResult result = agent::sources::PollResult::failure("poll did not run");
  // The value of header `name` of request `index` ("" when absent).
  std::string header(std::size_t index, const std::string& name) const {
    for (const auto& [key, value] : requests.at(index).headers) {
      if (key == name) return value;
    }
    return {};
  }
};

// Runs one poll of `source`, answering its requests with `answers` in order. A poll that asks
// for more requests than there are answers fails the test; answers it did not ask for are
// left in `answers`.
inline CannedPoll run_canned(agent::sources::Source& source, const Clock& clock,
                             std::deque<agent::http::Reply>& answers) {
  CannedPoll out;
  auto poll = source.start_poll();
  while (auto request = poll->next_request()) {
    out.requests.push_back(*request);
    if (answers.empty()) {
      ADD_FAILURE() << "no canned answer for request " << out.requests.size() << ": "
                    << request->method << " " << request->url;
      out.result = agent::sources::PollResult::failure("test: no canned answer");
      return out;
    }
    poll->on_outcome(answers.front(), clock.now());
    answers.pop_front();
  }
  out.result = poll->result();
  return out;
}

// The same, for answers that must all be used.
inline CannedPoll run_canned(agent::sources::Source& source, const Clock& clock,
                             std::deque<agent::http::Reply>&& answers) {
  auto out = run_canned(source, clock, answers);
  EXPECT_TRUE(answers.empty()) << answers.size() << " canned answers were not asked for";
  return out;
}

}  // namespace streamtrack::testing
