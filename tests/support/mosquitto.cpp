#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdexcept>
#include <thread>

#include "tests/support/harness.hpp"

namespace streamtrack::testing {

namespace fs = std::filesystem;

namespace {

void openssl(const std::vector<std::string>& args, const fs::path& dir) {
  std::vector<std::string> argv{"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto result = run_command(argv);
  if (result.exit_code != 0) {
    throw std::runtime_error("test certificates: openssl " + args.front() + " failed in " +
                             dir.string() + ":\n" + result.output);
  }
}

void make_ca(const fs::path& dir, const std::string& name, const std::string& cn) {
  openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
           "-keyout", (dir / (name + ".key")).string(), "-out", (dir / (name + ".crt")).string(),
           "-days", "3650", "-subj", "/CN=" + cn, "-addext", "basicConstraints=critical,CA:TRUE",
           "-addext", "keyUsage=critical,keyCertSign,cRLSign"},
          dir);
}

void make_leaf(const fs::path& dir, const std::string& name, const std::string& cn,
               const std::string& extensions) {
  auto key = dir / (name + ".key");
  auto csr = dir / (name + ".csr");
  auto ext = dir / (name + ".ext");
  openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
           "-keyout", key.string(), "-out", csr.string(), "-subj", "/CN=" + cn},
          dir);
  write_file(ext, extensions);
  openssl({"x509", "-req", "-in", csr.string(), "-CA", (dir / "ca.crt").string(), "-CAkey",
           (dir / "ca.key").string(), "-CAcreateserial", "-out", (dir / (name + ".crt")).string(),
           "-days", "3650", "-extfile", ext.string()},
          dir);
}

TlsFiles generate_tls_files(const fs::path& dir) {
  make_ca(dir, "ca", "StreamTrack Test CA");
  make_ca(dir, "other-ca", "Unrelated Test CA");
  make_leaf(dir, "server", "localhost",
            "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n"
            "extendedKeyUsage=serverAuth\n");
  make_leaf(dir, "client", "streamtrack-test-client",
            "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n");
  // Test material only: readable by every user, so daemons under test may drop privileges.
  ::chmod(dir.c_str(), 0755);
  for (const auto& entry : fs::directory_iterator(dir)) ::chmod(entry.path().c_str(), 0644);
  TlsFiles files;
  files.ca_cert = dir / "ca.crt";
  files.server_cert = dir / "server.crt";
  files.server_key = dir / "server.key";
  files.client_cert = dir / "client.crt";
  files.client_key = dir / "client.key";
  files.other_ca_cert = dir / "other-ca.crt";
  return files;
}

}  // namespace

const TlsFiles& test_tls_files() {
  static TempDir dir("streamtrack-tls");
  static const TlsFiles files = generate_tls_files(dir.path());
  return files;
}

struct MosquittoServer::Impl {
  Options options;
  TempDir dir{"streamtrack-mosquitto"};
  std::uint16_t port = 0;
  std::uint16_t tls_port = 0;
  std::unique_ptr<Process> process;

  fs::path conf() const { return dir / "mosquitto.conf"; }
  fs::path log_file() const { return dir / "mosquitto.log"; }

  void write_config() {
    std::string text = "allow_anonymous true\n";
    if (options.persistence) {
      text += "persistence true\npersistence_location " + dir.path().string() +
              "/\nautosave_interval 1\n";
    } else {
      text += "persistence false\n";
    }
    text +=
        "log_dest stderr\n"
        // Everything but per-packet debug lines, which would swamp the log in load tests.
        "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
        "log_type subscribe\nlog_type unsubscribe\n"
        "connection_messages true\n"
        "log_timestamp_format %Y-%m-%dT%H:%M:%S\n";
    // Started as root, mosquitto 2 switches to user "mosquitto", which cannot read our
    // temp dir: keep root.
    if (::geteuid() == 0) text += "user root\n";
    text += "listener " + std::to_string(port) + " 127.0.0.1\n";
    for (const auto& address : options.extra_addresses) {
      text += "listener " + std::to_string(port) + " " + address + "\n";
    }
    if (options.tls) {
      const auto& tls = test_tls_files();
      text += "listener " + std::to_string(tls_port) + " 127.0.0.1\n";
      text += "cafile " + tls.ca_cert.string() + "\n";
      text += "certfile " + tls.server_cert.string() + "\n";
      text += "keyfile " + tls.server_key.string() + "\n";
      text += std::string("require_certificate ") +
              (options.require_client_cert ? "true" : "false") + "\n";
    }
    write_file(conf(), text);
  }

  bool ready() const { return port_accepts(port) && (!options.tls || port_accepts(tls_port)); }

  void start() {
    std::string failure;
    for (int attempt = 0; attempt < 50; ++attempt) {
      auto log_offset = fs::exists(log_file()) ? fs::file_size(log_file()) : 0;
      Process::Options po;
      po.argv = {"/usr/sbin/mosquitto", "-c", conf().string()};
      po.log_file = log_file();
      po.cwd = dir.path();
      process = std::make_unique<Process>(std::move(po));
      wait_until([&] { return ready() || !process->running(); });
      if (process->running() && ready()) return;
      failure = read_file(log_file()).substr(log_offset);
      process.reset();
      // The port may still be held by the broker we just stopped (or grabbed by someone else
      // for a moment): try again briefly.
      if (failure.find("Address already in use") == std::string::npos) break;
      std::this_thread::sleep_for(200ms);
    }
    throw std::runtime_error("MosquittoServer: broker did not start:\n" + failure);
  }
};

MosquittoServer::MosquittoServer() : MosquittoServer(Options{}) {}

MosquittoServer::MosquittoServer(Options options) : m_impl(std::make_unique<Impl>()) {
  m_impl->options = options;
  m_impl->port = free_port();
  if (options.tls) m_impl->tls_port = free_port();
  m_impl->write_config();
  m_impl->start();
}

MosquittoServer::~MosquittoServer() {
  stop();
}

std::uint16_t MosquittoServer::port() const {
  return m_impl->port;
}

std::uint16_t MosquittoServer::tls_port() const {
  if (!m_impl->options.tls) throw std::logic_error("MosquittoServer: TLS listener not enabled");
  return m_impl->tls_port;
}

std::string MosquittoServer::url() const {
  return "mqtt://127.0.0.1:" + std::to_string(port());
}

std::string MosquittoServer::tls_url() const {
  return "mqtts://127.0.0.1:" + std::to_string(tls_port());
}

const TlsFiles& MosquittoServer::tls_files() const {
  return test_tls_files();
}

void MosquittoServer::stop() {
  if (m_impl->process) {
    m_impl->process->stop(10s);
    m_impl->process.reset();
  }
}

void MosquittoServer::start() {
  if (running()) return;
  m_impl->start();
}

void MosquittoServer::kill() {
  if (m_impl->process) {
    m_impl->process->signal(SIGKILL);
    m_impl->process->wait(k_event_timeout);
    m_impl->process.reset();
  }
}

bool MosquittoServer::running() const {
  return m_impl->process && m_impl->process->running();
}

std::string MosquittoServer::log() const {
  std::error_code ec;
  if (!fs::exists(m_impl->log_file(), ec)) return {};
  return read_file(m_impl->log_file());
}

}  // namespace streamtrack::testing
