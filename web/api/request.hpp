#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

// The server-independent view of one HTTP exchange: web/http/ turns the wire into a Request and
// a Response back into bytes; everything in web/api/ sees only these.
namespace streamtrack::web {

struct Request {
  std::string method;                          // "GET", "HEAD", ...
  std::string path;                            // percent-decoded, without the query
  std::string raw_query;                       // as sent, without '?'
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string remote;                          // peer address, for logs

  std::optional<std::string> header(const std::string& lower_name) const {
    const auto it = headers.find(lower_name);
    return it == headers.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
};

class EventSink;

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // beyond the security headers

  // Set for a live (SSE) reply: the server sends the headers, then hands the connection's sink
  // to this function, which subscribes it; the returned function unsubscribes (called once,
  // when the connection ends).
  std::function<std::function<void()>(std::shared_ptr<EventSink>)> open_stream;
};

// Where a live connection receives its frames; implemented by the HTTP server. Thread-safe and
// non-blocking: a frame is queued; a client that falls too far behind is disconnected.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void send(std::shared_ptr<const std::string> frame) = 0;
};

}  // namespace streamtrack::web
