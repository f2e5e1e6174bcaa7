#include <nlohmann/json.hpp>

#include "web/api/api.hpp"
#include "web/api/params.hpp"
#include "web/api/reply.hpp"

// GET /api/v1/live: the Server-Sent Events stream of web/live/hub.
namespace streamtrack::web::api {

using nlohmann::json;

Response Api::live(const Request& request) {
  Query query(request.raw_query, {"channel"});
  const auto channel = query.optional_integer("channel", 1, INT64_MAX);
  std::optional<std::uint64_t> last_event_id;
  if (const auto h = request.header("last-event-id"); h && !h->empty()) {
    if (h->size() > 19 || h->find_first_not_of("0123456789") != std::string::npos) {
      throw bad_parameter("Last-Event-ID", "expected the id of an event this server sent");
    }
    last_event_id = std::stoull(*h);
  }
  if (channel) {
    auto conn = m_pool.acquire();
    require_channel(*conn, *channel, "channel");
  }
  auto place = m_hub.reserve_place(m_options.max_live_clients);
  if (!place) {
    return busy_reply("busy", "too many live clients", 5);
  }
  Response r;
  r.content_type = "text/event-stream; charset=utf-8";
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("X-Accel-Buffering", "no");
  if (request.method == "HEAD") return r;  // the headers only, no subscription
  // The place moves from the pending stream to its subscription and is released when the
  // subscription ends (or with this reply, if the stream never opens).
  r.open_stream = [this, channel, last_event_id,
                   place = std::move(place)](const std::shared_ptr<EventSink>& sink) mutable {
    sink->send(std::make_shared<const std::string>("retry: 1000\n\n"));
    const auto id = m_hub.subscribe(sink, channel, last_event_id);
    return std::function<void()>([this, id, held = std::move(place)]() mutable {
      m_hub.unsubscribe(id);
      held.reset();
    });
  };
  return r;
}

}  // namespace streamtrack::web::api
