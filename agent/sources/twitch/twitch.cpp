#include "agent/sources/twitch/twitch.hpp"

#include <algorithm>
#include <charconv>
#include <map>

#include "agent/http/url.hpp"
#include "agent/sources/json_support.hpp"
#include "agent/sources/oauth/app_token.hpp"
#include "agent/sources/platform_support.hpp"
#include "agent/sources/source_config.hpp"
#include "common/daemon/log.hpp"

namespace streamtrack::agent::sources::twitch {

using nlohmann::json;
using oauth::AppToken;

namespace {

constexpr int k_max_pages_per_batch = 20;

std::optional<std::int64_t> header_int(const http::Response& r, const char* name) {
  const auto it = r.headers.find(name);
  if (it == r.headers.end()) return std::nullopt;
  std::int64_t v = 0;
  const auto& s = it->second;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

Result<StreamsPage> parse_streams(std::string_view body) {
  using R = Result<StreamsPage>;
  const auto doc = parse_json_list(body, "data");
  if (!doc) return R::failure(doc.error());
  const auto& data = doc->at("data");
  StreamsPage page;
  for (std::size_t i = 0; i < data.size(); ++i) {
    const auto& item = data[i];
    const std::string where = "data[" + std::to_string(i) + "]";
    const auto* login = member(item, "user_login");
    if (!login || !login->is_string() || login->get_ref<const std::string&>().empty()) {
      return R::failure(where + ".user_login: expected a non-empty string");
    }
    Sample s;
    s.channel = lower_ascii(login->get<std::string>());
    s.live = true;
    if (const auto* viewers = member(item, "viewer_count"); viewers && !viewers->is_null()) {
      s.viewers = as_count(*viewers);
      if (!s.viewers)
        return R::failure(where + ".viewer_count: expected a count, got " + viewers->dump());
    }
    if (const auto* id = member(item, "id"); id && !id->is_null()) s.stream_id = as_text(*id);
    if (const auto* title = member(item, "title");
        title && title->is_string() && !title->get_ref<const std::string&>().empty()) {
      s.title = title->get<std::string>();
    }
    if (const auto* game = member(item, "game_name");
        game && game->is_string() && !game->get_ref<const std::string&>().empty()) {
      s.category = game->get<std::string>();
    }
    if (const auto* started = member(item, "started_at"); started && !started->is_null()) {
      s.started_at = as_time(*started);
      if (!s.started_at)
        return R::failure(where + ".started_at: expected an RFC 3339 time, got " + started->dump());
    }
    page.live.push_back(std::move(s));
  }
  if (const auto* pagination = member(*doc, "pagination"); pagination && pagination->is_object()) {
    if (const auto* cursor = member(*pagination, "cursor"); cursor && cursor->is_string()) {
      page.cursor = cursor->get<std::string>();
    }
  }
  return page;
}

void RateLimit::update(const http::Response& response) {
  if (auto v = header_int(response, "ratelimit-limit")) limit = v;
  if (auto v = header_int(response, "ratelimit-remaining")) remaining = v;
  // Unix seconds up to the end of year 9999, like every time on the wire; anything else
  // (which would not even fit a TimePoint) is no reset time.
  constexpr std::int64_t k_latest_reset = 253'402'300'799;  // 9999-12-31T23:59:59Z
  if (auto v = header_int(response, "ratelimit-reset"); v && *v >= 0 && *v <= k_latest_reset) {
    reset = TimePoint{std::chrono::seconds{*v}};
  }
}

std::optional<TimePoint> RateLimit::blocked(TimePoint now, std::int64_t points) const {
  if (!remaining || !reset || now >= *reset) return std::nullopt;
  if (*remaining >= points) return std::nullopt;
  return reset;
}

struct TwitchSource::State {
  TwitchOptions options;
  const Clock& clock;
  AppToken token;
  RateLimit rate;
  std::unique_ptr<chat::IrcClient> chat;
  bool warned_budget = false;
};

namespace {

class TwitchPoll final : public PlatformPoll {
 public:
  explicit TwitchPoll(std::shared_ptr<TwitchSource::State> state)
      : PlatformPoll(state->options.client_secret),
        m_state(std::move(state)),
        m_batches(batches(m_state->options.channels, k_batch_size)) {
    const auto now = m_state->clock.now();
    if (auto until = m_state->rate.blocked(now, static_cast<std::int64_t>(m_batches.size()))) {
      fail("rate limit: " + std::to_string(m_state->rate.remaining.value_or(0)) +
           " points left, a poll needs " + std::to_string(m_batches.size()) +
           "; waiting until the bucket refills at " + format_rfc3339(*until));
    }
  }

  std::optional<http::Request> next_request() override {
    if (done()) return std::nullopt;
    auto& s = *m_state;
    const auto now = s.clock.now();
    if (auto mint = s.token.mint_if_needed(now, s.options.max_body_bytes)) {
      m_stage = Stage::token;
      return mint;
    }
    m_stage = Stage::streams;
    http::Request r;
    r.url = s.options.api_base_url + "/streams?";
    for (const auto& login : m_batches[m_batch])
      r.url += "user_login=" + http::percent_encode(login) + "&";
    r.url += "first=" + std::to_string(k_batch_size);
    if (!m_cursor.empty()) r.url += "&after=" + http::percent_encode(m_cursor);
    r.headers.emplace_back("Authorization", "Bearer " + *s.token.current(now));
    r.headers.emplace_back("Client-Id", s.options.client_id);
    r.timeout = s.options.timeout;
    r.max_body_bytes = s.options.max_body_bytes;
    return r;
  }

  void on_outcome(const http::Reply& outcome, TimePoint now) override {
    auto& s = *m_state;
    if (m_stage == Stage::token) {
      if (auto problem = s.token.accept(outcome, now)) fail(*problem);
      return;
    }
    if (!outcome) return fail(outcome.error());
    const auto& response = *outcome;
    s.rate.update(response);
    if (s.token.remint_after_401(response, m_reminted, s.options.name)) return;
    if (response.status == 429) {
      const auto until =
          s.rate.reset && *s.rate.reset > now ? *s.rate.reset : now + std::chrono::seconds(60);
      s.rate.remaining = 0;
      s.rate.reset = until;
      auto problem = check_response(response, BodyKind::json).value_or("HTTP 429");
      return fail(problem + "; waiting until " + format_rfc3339(until));
    }
    if (auto problem = check_response(response, BodyKind::json)) return fail(*problem);
    auto page = parse_streams(response.body);
    if (!page) return fail(page.error());
    const auto& tracked = s.options.channels;
    for (auto& sample : page->live) {
      // Helix answers only for the logins asked; anything else is not ours to report.
      if (std::find(tracked.begin(), tracked.end(), sample.channel) == tracked.end()) continue;
      keep_first(std::move(sample));
    }
    ++m_pages;
    if (!page->cursor.empty() && page->cursor != m_cursor && m_pages < k_max_pages_per_batch) {
      m_cursor = page->cursor;
      return;
    }
    m_cursor.clear();
    m_pages = 0;
    if (++m_batch < m_batches.size()) return;
    finish();
  }

 private:
  enum class Stage { token, streams };

  void finish() {
    auto& s = *m_state;
    for (const auto& login : s.options.channels) {
      if (seen(login)) continue;
      Sample offline;
      offline.channel = login;
      offline.live = false;
      keep(std::move(offline));
    }
    if (s.chat) {
      const auto counts = s.chat->take_counts();
      for (auto& sample : samples()) {
        const auto it = counts.find(sample.channel);
        if (it == counts.end()) continue;
        sample.chat_messages = it->second.messages;
        sample.chatters = it->second.chatters;
      }
    }
    if (s.rate.limit && !s.warned_budget) {
      s.warned_budget = true;
      log::info("rate limit source=" + s.options.name + " limit=" + std::to_string(*s.rate.limit) +
                " requests_per_poll=" + std::to_string(m_batches.size()));
    }
    succeed();
  }

  std::shared_ptr<TwitchSource::State> m_state;
  std::vector<std::vector<std::string>> m_batches;
  std::size_t m_batch = 0;
  std::string m_cursor;
  int m_pages = 0;
  Stage m_stage = Stage::streams;
  bool m_reminted = false;
};

}  // namespace

TwitchSource::TwitchSource(TwitchOptions options, const Clock& clock)
    : m_state(std::make_shared<State>(State{
          .options = {},
          .clock = clock,
          .token = AppToken(http::trim_trailing_slashes(options.auth_base_url) + "/token",
                            options.client_id, options.client_secret, options.timeout),
          .rate = {},
          .chat = nullptr,
          .warned_budget = false,
      })) {
  options.api_base_url = http::trim_trailing_slashes(options.api_base_url);
  for (auto& c : options.channels) c = lower_ascii(c);
  if (options.chat) {
    auto irc = *options.chat;
    irc.channels = options.channels;
    if (irc.log_name == "chat") irc.log_name = options.name;
    m_state->chat = std::make_unique<chat::IrcClient>(std::move(irc));
  }
  m_state->options = std::move(options);
}

TwitchSource::~TwitchSource() = default;

std::unique_ptr<Poll> TwitchSource::start_poll() {
  return std::make_unique<TwitchPoll>(m_state);
}

const chat::IrcClient* TwitchSource::chat() const {
  return m_state->chat.get();
}

namespace {

// Keys of a `twitch` [[source]] table.
const config::TableSpec& spec() {
  using config::ValueType;
  static const TwitchOptions defaults;
  static const config::TableSpec table = platform_source_spec(
      {.channels_description = "Channel logins to track.",
       .default_api_base_url = defaults.api_base_url},
      {
          {.name = "client_id", .required = true, .description = "Twitch application client ID."},
          {.name = "client_secret_file",
           .description = "Client secret, from a file (default: the systemd credential "
                          "twitch-client-secret)."},
          {.name = "chat",
           .type = ValueType::boolean,
           .default_value = false,
           .description = "Join the channels' chat (anonymous, read-only) and report "
                          "chat_messages and chatters per sample."},
          {.name = "auth_base_url",
           .default_value = defaults.auth_base_url,
           .description = "OAuth base URL; tokens come from <auth_base_url>/token."},
          {.name = "irc_url",
           .default_value = chat::IrcOptions{}.url,
           .description = "Chat server, irc://host:port or ircs://host:port."},
      });
  return table;
}

// Reads the client secret (client_secret_file, or $CREDENTIALS_DIRECTORY/twitch-client-secret).
std::unique_ptr<Source> create(const SourceConfig& source, const std::string& config_path) {
  const auto& s = source.section;
  config::Diagnostics diag(config_path);
  TwitchOptions o;
  const auto secret =
      read_platform_options(source, "client_secret_file", "twitch-client-secret", diag, o);
  o.client_id = s.string("client_id");
  o.auth_base_url = s.string("auth_base_url");
  if (s.boolean("chat")) {
    chat::IrcOptions irc;
    irc.url = s.string("irc_url");
    o.chat = irc;
    if (!irc.url.starts_with("irc://") && !irc.url.starts_with("ircs://")) {
      diag.error(s.position("irc_url"), s.context(), "irc_url",
                 "expected irc://host[:port] or ircs://host[:port], got \"" + irc.url + "\"");
    }
  }
  diag.throw_if_any();
  o.client_secret = *secret;
  try {
    return std::make_unique<TwitchSource>(std::move(o), SystemClock::instance());
  } catch (const std::exception& e) {
    diag.error(s.position("irc_url"), s.context(), "irc_url", e.what());
    diag.throw_if_any();
    throw;
  }
}

}  // namespace

SourceTypeInfo source_type() {
  return {
      .type = "twitch",
      .spec = &spec,
      .create = &create,
      .example = {
          .comment = "Twitch: Helix /streams for up to 100 logins a request, app token by client "
                     "credentials (minted again once on 401), Ratelimit-* headers honoured. chat = "
                     "true joins each channel's chat anonymously (read-only) and adds "
                     "chat_messages and chatters per sample. Default credential: "
                     "twitch-client-secret.",
          .toml = "type = \"twitch\"\nname = \"twitch\"\ninterval = \"30s\"\nclient_id = \"...\"\n"
                  "client_secret_file = \"/etc/streamtrack/twitch.secret\"\n"
                  "channels = [\"somestreamer\", \"another\"]\nchat = true\n"}};
}

}  // namespace streamtrack::agent::sources::twitch
