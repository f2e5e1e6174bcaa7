#pragma once

// A W3C WebDriver client for browser tests: Debian's chromedriver driving headless Chromium,
// spoken to over HTTP on loopback with libcurl and nlohmann-json. Only what the dashboard
// tests need: navigate, run a script, screenshot, read the browser console.

#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/harness.hpp"

namespace streamtrack::testing {

// A chromedriver process on a free loopback port (stopped, with its browsers, on destruction).
class ChromeDriver {
 public:
  ChromeDriver();
  ~ChromeDriver();
  ChromeDriver(const ChromeDriver&) = delete;
  ChromeDriver& operator=(const ChromeDriver&) = delete;
  std::string url() const;  // http://127.0.0.1:<port>
  std::string log() const;

 private:
  TempDir m_dir{"streamtrack-chromedriver"};
  std::uint16_t m_port = 0;
  std::unique_ptr<Process> m_process;
};

// A WebDriver error reply: the W3C error code ("no such element", "javascript error", ...).
struct WebDriverError : std::runtime_error {
  WebDriverError(const std::string& command, const std::string& code, const std::string& message)
      : std::runtime_error(command + ": " + code + ": " + message), error(code) {}
  std::string error;
};

// One headless Chromium session (its own profile directory, so its own service workers and
// caches). The window is `width` x `height` CSS pixels. Throws WebDriverError or
// std::runtime_error when the driver cannot be reached.
class Browser {
 public:
  Browser(const ChromeDriver& driver, int width = 1280, int height = 900);
  ~Browser();  // ends the session
  Browser(const Browser&) = delete;
  Browser& operator=(const Browser&) = delete;

  void navigate(const std::string& url);
  void refresh();
  // Runs `script` as a function body (arguments in `arguments`) and returns its result.
  nlohmann::json execute(const std::string& script,
                         const nlohmann::json& args = nlohmann::json::array());
  // As execute(), but the script calls arguments[arguments.length - 1](result) when done.
  nlohmann::json execute_async(const std::string& script,
                               const nlohmann::json& args = nlohmann::json::array());
  // Polls the JavaScript expression `expression` until it is truthy; false on timeout.
  bool wait_for(const std::string& expression, std::chrono::milliseconds timeout = k_event_timeout);
  // Sets the window so that the page's viewport is `width` x `height`.
  void resize(int width, int height);
  // Writes a PNG of the viewport to `path` (parent directories created).
  void screenshot(const std::filesystem::path& path);
  // Console messages and page errors since the last call, one per line.
  std::string console_log();
  // A Chrome DevTools Protocol command through chromedriver (e.g. "Emulation.setEmulatedMedia").
  nlohmann::json cdp(const std::string& method,
                     const nlohmann::json& params = nlohmann::json::object());

 private:
  nlohmann::json command(const std::string& method, const std::string& path,
                         const nlohmann::json& body = nullptr);
  std::string m_base;
  std::string m_session;
  TempDir m_profile{"streamtrack-chromium"};
};

}  // namespace streamtrack::testing
