#pragma once

// A real nginx with libnginx-mod-rtmp for integration tests, next to harness.hpp.

#include <cstdint>
#include <memory>
#include <string>

#include "tests/support/harness.hpp"

namespace streamtrack::testing {

// nginx in the foreground (master_process off) in its own temp dir: an RTMP listener with a
// `live` application and an HTTP listener serving `rtmp_stat all` at /stat, both on free
// loopback ports. The constructor returns once both ports accept connections (throws
// std::runtime_error with nginx's log otherwise); the destructor stops nginx.
class NginxRtmpServer {
 public:
  NginxRtmpServer();
  ~NginxRtmpServer();
  NginxRtmpServer(const NginxRtmpServer&) = delete;
  NginxRtmpServer& operator=(const NginxRtmpServer&) = delete;

  std::uint16_t http_port() const { return m_http_port; }
  std::uint16_t rtmp_port() const { return m_rtmp_port; }
  std::string stat_url() const;                         // http://127.0.0.1:<http>/stat
  std::string rtmp_url(const std::string& path) const;  // rtmp://127.0.0.1:<rtmp>/<path>
  std::string log() const;                              // nginx's error log and output

 private:
  TempDir m_dir{"streamtrack-nginx"};
  std::uint16_t m_http_port = 0;
  std::uint16_t m_rtmp_port = 0;
  std::unique_ptr<Process> m_process;
};

}  // namespace streamtrack::testing
