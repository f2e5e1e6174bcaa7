#include "agent/sources/kick/kick.hpp"

#include <algorithm>
#include <charconv>
#include <set>

#include "agent/http/url.hpp"
#include "agent/sources/json_support.hpp"
#include "agent/sources/oauth/app_token.hpp"
#include "agent/sources/platform_support.hpp"
#include "agent/sources/source_config.hpp"
#include "common/daemon/log.hpp"
#include "common/util/backoff.hpp"

namespace streamtrack::agent::sources::kick {

using nlohmann::json;
using oauth::AppToken;

namespace {

const std::string* non_empty_string(const json* v) {
  if (!v || !v->is_string() || v->get_ref<const std::string&>().empty()) return nullptr;
  return &v->get_ref<const std::string&>();
}

}  // namespace

Result<std::vector<Sample>> parse_channels(std::string_view body) {
  using R = Result<std::vector<Sample>>;
  const auto doc = parse_json_list(body, "data");
  if (!doc) return R::failure(doc.error());
  const auto& data = doc->at("data");
  std::vector<Sample> out;
  for (std::size_t i = 0; i < data.size(); ++i) {
    const auto& item = data[i];
    const std::string where = "data[" + std::to_string(i) + "]";
    const auto* slug = non_empty_string(member(item, "slug"));
    if (!slug) return R::failure(where + ".slug: expected a non-empty string");
    const auto* stream = member(item, "stream");
    if (!stream || !stream->is_object()) return R::failure(where + ".stream: expected an object");
    const auto* is_live = member(*stream, "is_live");
    if (!is_live || !is_live->is_boolean())
      return R::failure(where + ".stream.is_live: expected a boolean");
    Sample s;
    s.channel = lower_ascii(*slug);
    s.live = is_live->get<bool>();
    if (const auto* title = non_empty_string(member(item, "stream_title"))) s.title = *title;
    if (const auto* category = member(item, "category")) {
      if (const auto* name = non_empty_string(member(*category, "name"))) s.category = *name;
    }
    if (s.live) {
      if (const auto* viewers = member(*stream, "viewer_count"); viewers && !viewers->is_null()) {
        s.viewers = as_count(*viewers);
        if (!s.viewers)
          return R::failure(where + ".stream.viewer_count: expected a count, got " +
                            viewers->dump());
      }
      if (const auto* start = non_empty_string(member(*stream, "start_time"))) {
        s.started_at = parse_rfc3339(*start);
        if (!s.started_at)
          return R::failure(where + ".stream.start_time: expected an RFC 3339 time, got \"" +
                            *start + "\"");
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

struct KickSource::State {
  KickOptions options;
  const Clock& clock;
  AppToken token;
  Backoff backoff;
  std::optional<TimePoint> backoff_until;
  std::set<std::string> warned_missing;
};

namespace {

class KickPoll final : public PlatformPoll {
 public:
  explicit KickPoll(std::shared_ptr<KickSource::State> state)
      : PlatformPoll(state->options.client_secret),
        m_state(std::move(state)),
        m_batches(batches(m_state->options.channels, k_batch_size)) {
    const auto now = m_state->clock.now();
    if (m_state->backoff_until && now < *m_state->backoff_until) {
      fail("backing off after HTTP 429 until " + format_rfc3339(*m_state->backoff_until));
    }
  }

  std::optional<http::Request> next_request() override {
    if (done()) return std::nullopt;
    auto& s = *m_state;
    const auto now = s.clock.now();
    if (auto mint = s.token.mint_if_needed(now, s.options.max_body_bytes)) {
      m_token_stage = true;
      return mint;
    }
    m_token_stage = false;
    http::Request r;
    r.url = s.options.api_base_url + "/public/v1/channels?";
    const auto& batch = m_batches[m_batch];
    for (std::size_t i = 0; i < batch.size(); ++i) {
      r.url += (i ? "&slug=" : "slug=") + http::percent_encode(batch[i]);
    }
    r.headers.emplace_back("Authorization", "Bearer " + *s.token.current(now));
    r.headers.emplace_back("Accept", "application/json");
    r.timeout = s.options.timeout;
    r.max_body_bytes = s.options.max_body_bytes;
    return r;
  }

  void on_outcome(const http::Reply& outcome, TimePoint now) override {
    auto& s = *m_state;
    if (m_token_stage) {
      if (auto problem = s.token.accept(outcome, now)) fail(*problem);
      return;
    }
    if (!outcome) return fail(outcome.error());
    const auto& response = *outcome;
    if (s.token.remint_after_401(response, m_reminted, s.options.name)) return;
    if (response.status == 429) {
      auto delay = s.backoff.next_delay();
      if (const auto it = response.headers.find("retry-after"); it != response.headers.end()) {
        std::int64_t seconds = 0;
        const auto& v = it->second;
        if (std::from_chars(v.data(), v.data() + v.size(), seconds).ec == std::errc{} &&
            seconds > 0) {
          // At most backoff_cap: a larger Retry-After would silence the source for good (and
          // might not fit in milliseconds).
          const auto cap = std::chrono::duration_cast<std::chrono::seconds>(s.options.backoff_cap);
          delay = std::max(delay, std::chrono::milliseconds{
                                      std::chrono::seconds{std::min(seconds, cap.count())}});
        }
      }
      delay = std::max(delay, s.options.backoff_base);
      s.backoff_until = now + delay;
      auto problem = check_response(response, BodyKind::json).value_or("HTTP 429");
      return fail(problem + "; backing off until " + format_rfc3339(*s.backoff_until));
    }
    if (auto problem = check_response(response, BodyKind::json)) return fail(*problem);
    auto samples = parse_channels(response.body);
    if (!samples) return fail(samples.error());
    for (auto& sample : *samples) {
      keep_first(std::move(sample));
    }
    if (++m_batch < m_batches.size()) return;
    s.backoff.reset();
    s.backoff_until.reset();
    for (const auto& slug : s.options.channels) {
      if (seen(slug) || !s.warned_missing.insert(slug).second) continue;
      log::warning("channel not found source=" + s.options.name + " channel=" + slug);
    }
    succeed();
  }

 private:
  std::shared_ptr<KickSource::State> m_state;
  std::vector<std::vector<std::string>> m_batches;
  std::size_t m_batch = 0;
  bool m_token_stage = false;
  bool m_reminted = false;
};

}  // namespace

KickSource::KickSource(KickOptions options, const Clock& clock)
    : m_state(std::make_shared<State>(State{
          .options = {},
          .clock = clock,
          .token = AppToken(http::trim_trailing_slashes(options.auth_base_url) + "/oauth/token",
                            options.client_id, options.client_secret, options.timeout),
          .backoff = Backoff(options.backoff_base, options.backoff_cap),
          .backoff_until = std::nullopt,
          .warned_missing = {},
      })) {
  options.api_base_url = http::trim_trailing_slashes(options.api_base_url);
  for (auto& c : options.channels) c = lower_ascii(c);
  m_state->options = std::move(options);
}

KickSource::~KickSource() = default;

std::unique_ptr<Poll> KickSource::start_poll() {
  return std::make_unique<KickPoll>(m_state);
}

namespace {

const config::TableSpec& spec() {
  static const KickOptions defaults;
  static const config::TableSpec table = platform_source_spec(
      {.channels_description = "Channel slugs to track.",
       .default_api_base_url = defaults.api_base_url},
      {
          {.name = "client_id", .required = true, .description = "Kick application client ID."},
          {.name = "client_secret_file",
           .description = "Client secret, from a file (default: the systemd credential "
                          "kick-client-secret)."},
          {.name = "auth_base_url",
           .default_value = defaults.auth_base_url,
           .description = "OAuth base URL; tokens come from <auth_base_url>/oauth/token."},
      });
  return table;
}

// Reads the client secret (client_secret_file, or $CREDENTIALS_DIRECTORY/kick-client-secret).
std::unique_ptr<Source> create(const SourceConfig& source, const std::string& config_path) {
  config::Diagnostics diag(config_path);
  KickOptions o;
  const auto secret =
      read_platform_options(source, "client_secret_file", "kick-client-secret", diag, o);
  o.client_id = source.section.string("client_id");
  o.auth_base_url = source.section.string("auth_base_url");
  diag.throw_if_any();
  o.client_secret = *secret;
  return std::make_unique<KickSource>(std::move(o), SystemClock::instance());
}

}  // namespace

SourceTypeInfo source_type() {
  return {
      .type = "kick",
      .spec = &spec,
      .create = &create,
      .example = {
          .comment = "Kick: /public/v1/channels by slug, app token by client credentials, 429 "
                     "answered with exponential backoff. Default credential: kick-client-secret.",
          .toml = "type = \"kick\"\nname = \"kick\"\ninterval = \"30s\"\nclient_id = \"...\"\n"
                  "client_secret_file = \"/etc/streamtrack/kick.secret\"\n"
                  "channels = [\"examplestreamer\"]\n"}};
}

}  // namespace streamtrack::agent::sources::kick
