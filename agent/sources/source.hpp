#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/http/request.hpp"
#include "common/util/result.hpp"
#include "common/wire/sample.hpp"

// What every source type implements. A source never throws into the polling loop: each poll is
// a small state machine of HTTP requests (fetch a token first, follow pages, retry once on 401)
// that ends in samples or in one precise error.
namespace streamtrack::agent::sources {

// Samples with channel and measured fields set; the engine stamps agent, ts, platform and seq.
// An error is a one-line reason; it never comes with made-up samples.
using PollResult = Result<std::vector<Sample>>;

class Poll {
 public:
  virtual ~Poll() = default;
  // The next request to send, or nullopt when the poll is over (then result() is final).
  virtual std::optional<http::Request> next_request() = 0;
  // The outcome of the request last returned by next_request(), received at `now`.
  virtual void on_outcome(const http::Reply& outcome, TimePoint now) = 0;
  // Valid once next_request() returned nullopt.
  virtual PollResult result() = 0;
};

class Source {
 public:
  virtual ~Source() = default;
  // Begins one poll. Must not throw.
  virtual std::unique_ptr<Poll> start_poll() = 0;
};

// What a response body must look like before it is handed to a parser.
enum class BodyKind { json, xml };

// A body parser: a pure function of the body and the time it arrived.
using BodyParser = std::function<PollResult(std::string_view body, TimePoint now)>;

// Checks status (2xx) and content type of a response; nullopt when acceptable, otherwise the
// reason ("HTTP 500: <server message>", "expected JSON, got content type \"text/html\"").
std::optional<std::string> check_response(const http::Response& response, BodyKind kind);

// A poll of exactly one request whose body goes through `parse`.
class SingleRequestPoll final : public Poll {
 public:
  SingleRequestPoll(http::Request request, BodyKind kind, BodyParser parse);
  std::optional<http::Request> next_request() override;
  void on_outcome(const http::Reply& outcome, TimePoint now) override;
  PollResult result() override;

 private:
  std::optional<http::Request> m_request;
  BodyKind m_kind;
  BodyParser m_parse;
  PollResult m_result = PollResult::failure("poll did not run");
};

// The common source shape: one GET per poll, parsed by a pure function.
class SingleRequestSource final : public Source {
 public:
  SingleRequestSource(http::Request request, BodyKind kind, BodyParser parse)
      : m_request(std::move(request)), m_kind(kind), m_parse(std::move(parse)) {}
  std::unique_ptr<Poll> start_poll() override {
    return std::make_unique<SingleRequestPoll>(m_request, m_kind, m_parse);
  }

 private:
  http::Request m_request;
  BodyKind m_kind;
  BodyParser m_parse;
};

// Keeps only the samples whose channel is listed in `streams` (all when it is empty), and adds
// an offline sample for each listed stream that is absent.
std::vector<Sample> filter_streams(std::vector<Sample> samples,
                                   const std::vector<std::string>& streams);

}  // namespace streamtrack::agent::sources
