#include "collector/alerts/sinks/http_poster.hpp"

#include <curl/curl.h>

#include <algorithm>

namespace streamtrack::collector::alerts::sinks {

namespace {

constexpr std::size_t k_reply_bytes = 512;

std::size_t collect(char* data, std::size_t size, std::size_t n, void* out) {
  auto* s = static_cast<std::string*>(out);
  if (s->size() < k_reply_bytes) {
    s->append(data, std::min<std::size_t>(size * n, k_reply_bytes - s->size()));
  }
  return size * n;
}

// Aborts a transfer in flight once asked to, so that shutdown never waits for a webhook that
// does not answer.
int abort_when_asked(void* abort, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const std::atomic<bool>*>(abort)->load() ? 1 : 0;
}

class CurlPoster final : public HttpPoster {
 public:
  Result<HttpReply> post(const HttpPost& request, const std::atomic<bool>& abort) override {
    CURL* curl = curl_easy_init();
    if (!curl) return Result<HttpReply>::failure("curl_easy_init failed");
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    for (const auto& [k, v] : request.headers) {
      std::string line = k;
      line.append(": ").append(v);
      headers = curl_slist_append(headers, line.c_str());
    }
    HttpReply reply;
    curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "streamtrack-collector");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &abort_when_asked);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(&abort));
    const auto rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK) return Result<HttpReply>::failure(curl_easy_strerror(rc));
    return reply;
  }
};

}  // namespace

std::unique_ptr<HttpPoster> curl_poster() {
  return std::make_unique<CurlPoster>();
}

}  // namespace streamtrack::collector::alerts::sinks
