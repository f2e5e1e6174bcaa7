// The http_json source's mapping on arbitrary bodies, through pointers into objects, into
// arrays (an index and the past-the-end "-") and at the root.
#include <cstddef>
#include <cstdint>

#include "agent/sources/http_json/http_json.hpp"
#include "fuzz/fuzz_check.hpp"

using namespace streamtrack;
using agent::sources::http_json::Mapping;
using Pointer = nlohmann::json::json_pointer;

namespace {

Mapping object_mapping() {
  Mapping m;
  m.channel = "main";
  m.live = Pointer("/online");
  m.viewers = Pointer("/stats/viewers");
  m.bitrate_kbps = Pointer("/stats/bitrate");
  m.fps = Pointer("/stats/fps");
  m.dropped_frames = Pointer("/stats/dropped");
  m.chat_messages = Pointer("/chat/messages");
  m.chatters = Pointer("/chat/chatters");
  m.title = Pointer("/show/title");
  m.category = Pointer("/show/category");
  m.stream_id = Pointer("/show/id");
  m.started_at = Pointer("/show/started");
  return m;
}

Mapping array_mapping() {
  Mapping m;
  m.channel = "list";
  m.live = Pointer("/data/0/online");
  m.viewers = Pointer("/data/-");
  m.title = Pointer("");
  m.started_at = Pointer("/data/1");
  return m;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Mapping by_object = object_mapping();
  static const Mapping by_array = array_mapping();
  const auto body = fuzz::as_text(data, size);
  for (const Mapping* m : {&by_object, &by_array}) {
    if (const auto samples = agent::sources::http_json::parse(body, *m)) {
      FUZZ_CHECK(samples->size() == 1, "http_json yields exactly one sample");
      if (samples->front().viewers) FUZZ_CHECK(*samples->front().viewers >= 0, "negative viewers");
    }
  }
  return 0;
}
