#include "tests/web/browser/webdriver.hpp"

#include <curl/curl.h>

#include <fstream>
#include <stdexcept>

#include "common/util/base64.hpp"

namespace streamtrack::testing {
namespace {

size_t append_body(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

struct DriverReply {
  long status = 0;
  std::string body;
};

DriverReply http(const std::string& method, const std::string& url, const std::string& body,
                 std::chrono::seconds timeout) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) throw std::runtime_error("curl_easy_init failed");
  DriverReply reply;
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl.get(), CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &reply.body);
  if (method == "POST") {
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  const CURLcode rc = curl_easy_perform(curl.get());
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    throw std::runtime_error(method + " " + url + ": " + curl_easy_strerror(rc));
  }
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

}  // namespace

ChromeDriver::ChromeDriver() : m_port(free_port()) {
  Process::Options o;
  o.argv = {"/usr/bin/chromedriver", "--port=" + std::to_string(m_port)};
  o.log_file = m_dir / "chromedriver.log";
  m_process = std::make_unique<Process>(o);
  if (!wait_until([&] { return port_accepts(m_port); })) {
    throw std::runtime_error("chromedriver did not listen on port " + std::to_string(m_port) +
                             ": " + m_process->output());
  }
}

ChromeDriver::~ChromeDriver() {
  if (m_process) m_process->stop(5s);
}

std::string ChromeDriver::url() const {
  return "http://127.0.0.1:" + std::to_string(m_port);
}

std::string ChromeDriver::log() const {
  return m_process ? m_process->output() : "";
}

Browser::Browser(const ChromeDriver& driver, int width, int height) : m_base(driver.url()) {
  const nlohmann::json caps = {
      {"capabilities",
       {{"alwaysMatch",
         {{"browserName", "chrome"},
          {"goog:loggingPrefs", {{"browser", "ALL"}}},
          {"goog:chromeOptions",
           {{"binary", "/usr/bin/chromium"},
            {"args",
             {"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--hide-scrollbars", "--no-first-run", "--no-default-browser-check",
              "--disable-extensions", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--metrics-recording-only",
              "--window-size=" + std::to_string(width) + "," + std::to_string(height),
              "--user-data-dir=" + m_profile.path().string()}}}}}}}}};
  const auto value = command("POST", "/session", caps);
  m_session = value.at("sessionId").get<std::string>();
  resize(width, height);
}

Browser::~Browser() {
  if (m_session.empty()) return;
  try {
    command("DELETE", "");
  } catch (const std::exception&) {
    // The driver (and the browser with it) is stopped by ChromeDriver's destructor anyway.
  }
}

nlohmann::json Browser::command(const std::string& method, const std::string& path,
                                const nlohmann::json& body) {
  const std::string url =
      m_base +
      (path.rfind("/session", 0) == 0 && m_session.empty() ? path : "/session/" + m_session + path);
  const auto reply = http(method, url, body.is_null() ? std::string("{}") : body.dump(), 120s);
  nlohmann::json parsed;
  try {
    parsed = nlohmann::json::parse(reply.body);
  } catch (const std::exception&) {
    throw std::runtime_error(method + " " + path + ": HTTP " + std::to_string(reply.status) +
                             ", not JSON: " + reply.body.substr(0, 500));
  }
  const auto& value = parsed.contains("value") ? parsed["value"] : parsed;
  if (reply.status != 200) {
    throw WebDriverError(method + " " + path, value.value("error", "unknown error"),
                         value.value("message", reply.body.substr(0, 500)));
  }
  return value;
}

void Browser::navigate(const std::string& url) {
  command("POST", "/url", {{"url", url}});
}

void Browser::refresh() {
  command("POST", "/refresh", nlohmann::json::object());
}

nlohmann::json Browser::execute(const std::string& script, const nlohmann::json& args) {
  return command("POST", "/execute/sync", {{"script", script}, {"args", args}});
}

nlohmann::json Browser::execute_async(const std::string& script, const nlohmann::json& args) {
  return command("POST", "/execute/async", {{"script", script}, {"args", args}});
}

bool Browser::wait_for(const std::string& expression, std::chrono::milliseconds timeout) {
  const std::string script =
      "try { return Boolean(" + expression + "); } catch (e) { return false; }";
  return wait_until(
      [&] {
        try {
          return execute(script).get<bool>();
        } catch (const WebDriverError&) {
          return false;  // e.g. a navigation in progress
        }
      },
      timeout);
}

void Browser::resize(int width, int height) {
  // The window includes no browser chrome in headless mode, but ask the page to be sure.
  command("POST", "/window/rect", {{"width", width}, {"height", height}});
  const auto inner = execute("return [window.innerWidth, window.innerHeight];");
  const int dw = width - inner[0].get<int>();
  const int dh = height - inner[1].get<int>();
  if (dw != 0 || dh != 0) {
    command("POST", "/window/rect", {{"width", width + dw}, {"height", height + dh}});
  }
}

void Browser::screenshot(const std::filesystem::path& path) {
  // Screenshots come back in standard base64.
  const auto png =
      base64_decode(command("GET", "/screenshot").get<std::string>(), Base64Alphabet::standard);
  if (!png) throw std::runtime_error("chromedriver: screenshot is not base64");
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(png->data(), static_cast<std::streamsize>(png->size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

nlohmann::json Browser::cdp(const std::string& method, const nlohmann::json& params) {
  return command("POST", "/goog/cdp/execute", {{"cmd", method}, {"params", params}});
}

std::string Browser::console_log() {
  std::string text;
  try {
    for (const auto& entry : command("POST", "/se/log", {{"type", "browser"}})) {
      text += entry.value("level", "") + " " + entry.value("message", "") + "\n";
    }
  } catch (const std::exception& e) {
    text = std::string("(no console log: ") + e.what() + ")\n";
  }
  return text;
}

}  // namespace streamtrack::testing
