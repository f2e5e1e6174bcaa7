#include "agent/http/multi_client.hpp"

#include <curl/curl.h>
#include <poll.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <string_view>

#include "common/util/duration.hpp"
#include "common/version.hpp"

namespace streamtrack::agent::http {

namespace {

CURLM* multi_of(void* p) {
  return static_cast<CURLM*>(p);
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  return s;
}

struct GlobalInit {
  GlobalInit() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

}  // namespace

struct MultiClient::Transfer {
  Id id = 0;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::size_t max_body = 0;
  bool too_large = false;
  std::chrono::milliseconds timeout{};
  Response response;
  char error[CURL_ERROR_SIZE] = {};

  ~Transfer() {
    if (easy) curl_easy_cleanup(easy);
    if (headers) curl_slist_free_all(headers);
  }

  static std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const std::size_t bytes = size * n;
    if (t->response.body.size() + bytes > t->max_body) {
      t->too_large = true;
      return 0;  // aborts the transfer with CURLE_WRITE_ERROR
    }
    t->response.body.append(data, bytes);
    return bytes;
  }

  static std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const std::size_t bytes = size * n;
    const std::string_view line(data, bytes);
    if (line.starts_with("HTTP/")) {
      t->response.headers.clear();  // a new response (after a redirect or 100 Continue)
      return bytes;
    }
    const auto colon = line.find(':');
    if (colon != std::string_view::npos) {
      t->response.headers.insert_or_assign(lower(trim(line.substr(0, colon))),
                                           std::string(trim(line.substr(colon + 1))));
    }
    return bytes;
  }
};

MultiClient::MultiClient() {
  static GlobalInit init;
  m_multi = curl_multi_init();
  if (!m_multi) throw std::runtime_error("cannot initialise libcurl");
  curl_multi_setopt(multi_of(m_multi), CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  // Idle connections kept for reuse (libcurl's default follows the number of transfers in
  // progress, which a poller that spreads its requests keeps small: connections were closed
  // and opened again between polls).
  curl_multi_setopt(multi_of(m_multi), CURLMOPT_MAXCONNECTS, 64L);
}

MultiClient::~MultiClient() {
  for (auto& [id, t] : m_transfers) curl_multi_remove_handle(multi_of(m_multi), t->easy);
  m_transfers.clear();
  for (void* easy : m_idle) curl_easy_cleanup(static_cast<CURL*>(easy));
  curl_multi_cleanup(multi_of(m_multi));
}

MultiClient::Id MultiClient::start(const Request& request) {
  const Id id = m_next_id++;
  auto t = std::make_unique<Transfer>();
  t->id = id;
  t->max_body = request.max_body_bytes;
  t->timeout = request.timeout;
  if (!m_idle.empty()) {
    t->easy = static_cast<CURL*>(m_idle.back());
    m_idle.pop_back();
    curl_easy_reset(t->easy);
  } else {
    t->easy = curl_easy_init();
  }
  if (!t->easy) {
    m_failed.push_back({id, Reply::failure("cannot create a libcurl handle")});
    return id;
  }
  CURL* e = t->easy;
  static const std::string user_agent = std::string("streamtrack-agent/") + k_version;
  curl_easy_setopt(e, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_USERAGENT, user_agent.c_str());
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(request.max_body_bytes));
  // libcurl's receive buffer, one per transfer in flight (16 KiB by default): with a hundred
  // sources polled at once those buffers were a third of the agent's heap. A status document is
  // a few KiB; a larger body only takes more reads, and on_body still enforces max_body_bytes.
  curl_easy_setopt(e, CURLOPT_BUFFERSIZE, k_receive_buffer_bytes);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Transfer::on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Transfer::on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());
  if (request.method != "GET") curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (!request.body.empty()) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, request.body.c_str());
  }
  if (request.basic_auth) {
    curl_easy_setopt(e, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    curl_easy_setopt(e, CURLOPT_USERNAME, request.basic_auth->user.c_str());
    curl_easy_setopt(e, CURLOPT_PASSWORD, request.basic_auth->password.c_str());
  }
  for (const auto& [name, value] : request.headers) {
    std::string line = name;
    line.append(": ").append(value);
    t->headers = curl_slist_append(t->headers, line.c_str());
  }
  if (t->headers) curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);

  if (curl_multi_add_handle(multi_of(m_multi), e) != CURLM_OK) {
    m_failed.push_back({id, Reply::failure("cannot start the request")});
    return id;
  }
  m_transfers.emplace(id, std::move(t));
  return id;
}

void MultiClient::collect(std::vector<Completion>& done) {
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_of(m_multi), &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    Transfer* raw = nullptr;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &raw);
    const CURLcode code = msg->data.result;
    curl_multi_remove_handle(multi_of(m_multi), msg->easy_handle);
    const auto it = m_transfers.find(raw->id);
    std::unique_ptr<Transfer> t = std::move(it->second);
    m_transfers.erase(it);
    // The handle is kept for a later request (set up again from scratch by curl_easy_reset):
    // creating one per request cost more than the request itself on a loopback endpoint.
    const auto keep_handle = [&] {
      if (m_idle.size() < k_idle_handles) m_idle.push_back(std::exchange(t->easy, nullptr));
    };
    if (code == CURLE_OK) {
      curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->response.status);
      const char* type = nullptr;
      curl_easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &type);
      if (type) t->response.content_type = type;
      done.push_back({t->id, std::move(t->response)});
      keep_handle();
      continue;
    }
    std::string reason;
    if (code == CURLE_OPERATION_TIMEDOUT) {
      reason = "timed out after " + format_duration(t->timeout);
    } else if (t->too_large || code == CURLE_FILESIZE_EXCEEDED) {
      reason = "response body larger than max_body_bytes (" + std::to_string(t->max_body) + ")";
    } else if (t->error[0] != '\0') {
      reason = t->error;
    } else {
      reason = curl_easy_strerror(code);
    }
    done.push_back({t->id, Reply::failure(std::move(reason))});
    keep_handle();
  }
}

std::vector<MultiClient::Completion> MultiClient::perform(std::chrono::milliseconds max_wait,
                                                          std::span<WaitFd> extra_fds) {
  using Steady = std::chrono::steady_clock;
  std::vector<Completion> done = std::move(m_failed);
  m_failed.clear();
  m_wait_fds.clear();
  for (auto& w : extra_fds) {
    w.ready = w.fd >= 0;
    if (w.fd < 0) continue;
    m_wait_fds.push_back(
        {w.fd, static_cast<short>(CURL_WAIT_POLLIN | (w.write ? CURL_WAIT_POLLOUT : 0)), 0});
  }
  const auto deadline = Steady::now() + std::max(std::chrono::milliseconds{0}, max_wait);
  int running = 0;
  // libcurl's own timers (a transfer just added, a connect in progress) wake the wait without
  // anything for the caller: it goes on waiting here rather than return empty-handed.
  while (true) {
    curl_multi_perform(multi_of(m_multi), &running);
    collect(done);
    if (!done.empty()) return done;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Steady::now()).count();
    if (left <= 0) return done;
    long curl_timeout = -1;
    curl_multi_timeout(multi_of(m_multi), &curl_timeout);
    long wait = static_cast<long>(left);
    if (curl_timeout >= 0) wait = std::min(wait, curl_timeout);
    for (auto& f : m_wait_fds) f.revents = 0;
    curl_multi_poll(multi_of(m_multi), m_wait_fds.data(), static_cast<unsigned>(m_wait_fds.size()),
                    static_cast<int>(wait), nullptr);
    bool extra_ready = false;
    for (auto& w : extra_fds) w.ready = false;
    for (const auto& f : m_wait_fds) {
      if (f.revents == 0) continue;
      extra_ready = true;
      for (auto& w : extra_fds) w.ready = w.ready || w.fd == f.fd;
    }
    if (extra_ready) {
      curl_multi_perform(multi_of(m_multi), &running);
      collect(done);
      return done;
    }
  }
}

}  // namespace streamtrack::agent::http
