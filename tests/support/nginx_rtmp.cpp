#include "tests/support/nginx_rtmp.hpp"

#include <stdexcept>

namespace streamtrack::testing {

namespace {

constexpr const char* k_nginx = "/usr/sbin/nginx";
constexpr const char* k_rtmp_module = "/usr/lib/nginx/modules/ngx_rtmp_module.so";

}  // namespace

NginxRtmpServer::NginxRtmpServer() {
  m_http_port = free_port();
  do {
    m_rtmp_port = free_port();
  } while (m_rtmp_port == m_http_port);
  const std::string dir = m_dir.path().string();
  const std::string config = std::string("load_module ") + k_rtmp_module +
                             ";\n"
                             "daemon off;\n"
                             "master_process off;\n"
                             "worker_processes 1;\n"
                             "pid " +
                             dir +
                             "/nginx.pid;\n"
                             "error_log " +
                             dir +
                             "/error.log info;\n"
                             "events { worker_connections 256; }\n"
                             "rtmp {\n"
                             "  server {\n"
                             "    listen 127.0.0.1:" +
                             std::to_string(m_rtmp_port) +
                             ";\n"
                             "    application live { live on; }\n"
                             "  }\n"
                             "}\n"
                             "http {\n"
                             "  access_log off;\n"
                             "  client_body_temp_path " +
                             dir +
                             "/body;\n"
                             "  proxy_temp_path " +
                             dir +
                             "/proxy;\n"
                             "  fastcgi_temp_path " +
                             dir +
                             "/fastcgi;\n"
                             "  uwsgi_temp_path " +
                             dir +
                             "/uwsgi;\n"
                             "  scgi_temp_path " +
                             dir +
                             "/scgi;\n"
                             "  server {\n"
                             "    listen 127.0.0.1:" +
                             std::to_string(m_http_port) +
                             ";\n"
                             "    location /stat { rtmp_stat all; }\n"
                             "  }\n"
                             "}\n";
  write_file(m_dir / "nginx.conf", config);
  Process::Options options;
  options.argv = {k_nginx, "-p", dir, "-c", dir + "/nginx.conf", "-e", dir + "/error.log"};
  options.log_file = m_dir / "output.log";
  m_process = std::make_unique<Process>(std::move(options));
  const bool up = wait_until([&] {
    return !m_process->running() || (port_accepts(m_http_port) && port_accepts(m_rtmp_port));
  });
  if (!up || !m_process->running()) {
    throw std::runtime_error("nginx-rtmp did not start:\n" + log());
  }
}

NginxRtmpServer::~NginxRtmpServer() {
  if (m_process) m_process->stop();
}

std::string NginxRtmpServer::stat_url() const {
  return "http://127.0.0.1:" + std::to_string(m_http_port) + "/stat";
}

std::string NginxRtmpServer::rtmp_url(const std::string& path) const {
  return "rtmp://127.0.0.1:" + std::to_string(m_rtmp_port) + "/" + path;
}

std::string NginxRtmpServer::log() const {
  std::string out;
  for (const char* name : {"output.log", "error.log"}) {
    try {
      out += read_file(m_dir / name);
    } catch (const std::exception&) {
      // Not written yet.
    }
  }
  return out;
}

}  // namespace streamtrack::testing
