#include "agent/sources/nginx_rtmp/nginx_rtmp.hpp"

#include <charconv>
#include <pugixml.hpp>

#include "agent/sources/source_config.hpp"

namespace streamtrack::agent::sources::nginx_rtmp {

namespace {

std::optional<std::int64_t> number(const pugi::xml_node& parent, const char* child) {
  const auto node = parent.child(child);
  if (!node) return std::nullopt;
  std::string_view text = node.child_value();
  while (!text.empty() && (text.back() == ' ' || text.back() == '\r' || text.back() == '\n')) {
    text.remove_suffix(1);
  }
  std::int64_t out = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return out;
}

std::optional<std::string> text(const pugi::xml_node& parent, const char* child) {
  const auto node = parent.child(child);
  if (!node || *node.child_value() == '\0') return std::nullopt;
  return std::string(node.child_value());
}

}  // namespace

PollResult parse(std::string_view body, TimePoint now) {
  pugi::xml_document doc;
  const auto parsed = doc.load_buffer(body.data(), body.size());
  if (!parsed) {
    return PollResult::failure(std::string("invalid XML: ") + parsed.description() + " at byte " +
                               std::to_string(parsed.offset));
  }
  const auto root = doc.child("rtmp");
  if (!root) {
    const auto first = doc.document_element();
    return PollResult::failure(std::string("unexpected XML: root element <") +
                               (first ? first.name() : "") + ">, expected <rtmp>");
  }
  std::vector<Sample> out;
  for (const auto server : root.children("server")) {
    for (const auto app : server.children("application")) {
      const auto app_name = text(app, "name");
      if (!app_name) return PollResult::failure("an <application> has no <name>");
      for (const auto stream : app.child("live").children("stream")) {
        const auto stream_name = text(stream, "name");
        if (!stream_name) {
          return PollResult::failure("application \"" + *app_name + "\": a <stream> has no <name>");
        }
        Sample s;
        s.channel = *app_name + "/" + *stream_name;
        const auto nclients = number(stream, "nclients");
        if (!nclients || *nclients < 0) {
          return PollResult::failure("stream \"" + s.channel +
                                     "\": <nclients> is missing or not a count");
        }
        s.live = static_cast<bool>(stream.child("publishing"));
        s.viewers = s.live ? std::max<std::int64_t>(0, *nclients - 1) : *nclients;
        if (s.live) {
          if (const auto bw = number(stream, "bw_in"); bw && *bw >= 0) {
            s.bitrate_kbps = static_cast<double>(*bw) / 1000.0;
          }
          const auto video = stream.child("meta").child("video");
          if (const auto fps = number(video, "frame_rate"); fps && *fps >= 0) {
            s.fps = static_cast<double>(*fps);
          }
          if (const auto w = number(video, "width"); w && *w > 0 && *w <= 65535) s.width = w;
          if (const auto h = number(video, "height"); h && *h > 0 && *h <= 65535) s.height = h;
          s.video_codec = text(video, "codec");
          s.audio_codec = text(stream.child("meta").child("audio"), "codec");
          for (const auto client : stream.children("client")) {
            if (!client.child("publishing")) continue;
            if (const auto ms = number(client, "time"); ms && *ms >= 0) {
              // Whole seconds: the connection time is only known to the poll's precision.
              const auto started = now - std::chrono::milliseconds{*ms};
              s.started_at = std::chrono::floor<std::chrono::seconds>(started);
            }
            break;
          }
        }
        out.push_back(std::move(s));
      }
    }
  }
  return out;
}

namespace {

std::unique_ptr<Source> create(const SourceConfig& source, const std::string& config_path) {
  return std::make_unique<SingleRequestSource>(base_request(source, config_path), BodyKind::xml,
                                               stream_filtered(source, &parse));
}

}  // namespace

SourceTypeInfo source_type() {
  return {
      .type = "nginx_rtmp",
      .spec = &discovering_source_spec,
      .create = &create,
      .example = {
          .comment = "nginx with the RTMP module (location /stat { rtmp_stat all; }): every stream "
                     "of every application is a channel \"<application>/<stream>\"; viewers = "
                     "RTMP players. `streams` (nginx_rtmp, mediamtx, srs, icecast): only those "
                     "channels are reported, and a listed stream the server does not report is "
                     "reported offline.",
          .toml = "type = \"nginx_rtmp\"\nname = \"rtmp\"\nurl = \"http://127.0.0.1:8080/stat\"\n"
                  "interval = \"10s\"\n# streams = [\"live/main\"]\n",
          .active = true}};
}

}  // namespace streamtrack::agent::sources::nginx_rtmp
