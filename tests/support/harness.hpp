#pragma once

// Throwaway real servers and processes for integration tests. Every object cleans up what it
// started (processes killed, directories removed) in its destructor, also when a test fails.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace streamtrack::testing {

using namespace std::chrono_literals;

// Generous default deadline for waiting on events on a loaded machine.
inline constexpr std::chrono::milliseconds k_event_timeout = 60s;

// The source tree and the directory of the built daemons (from the ctest environment).
std::filesystem::path source_dir();
std::filesystem::path bin_dir();

// A fresh directory under $TMPDIR, removed recursively on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "streamtrack-test");
  // The same, created under `base` instead of $TMPDIR.
  TempDir(const std::string& prefix, const std::filesystem::path& base);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return m_path; }
  std::filesystem::path operator/(const std::string& name) const { return m_path / name; }

 private:
  std::filesystem::path m_path;
};

// A TCP port on 127.0.0.1 that was free a moment ago.
std::uint16_t free_port();

// True when something accepts TCP connections on 127.0.0.1:`port` right now.
bool port_accepts(std::uint16_t port);

// Calls `pred` every 20 ms until it returns true or `timeout` passes; returns its last result.
bool wait_until(const std::function<bool()>& pred,
                std::chrono::milliseconds timeout = k_event_timeout);

// Writes `text` to `path` (creating or truncating it).
void write_file(const std::filesystem::path& path, const std::string& text);
std::string read_file(const std::filesystem::path& path);

// A child process with stdout and stderr captured to a log file, in its own process group
// (stop() reaches its children too). It gets SIGKILL when the test process dies (strictly: when
// the thread that created it exits), so a crashed test leaves no servers behind.
class Process {
 public:
  struct Options {
    std::vector<std::string> argv;   // argv[0] is the program path
    std::vector<std::string> env;    // extra "KEY=value" entries
    std::filesystem::path log_file;  // default: a file in a new temp dir
    std::optional<uid_t> uid;        // run as this user (when we are root)
    std::optional<gid_t> gid;
    std::filesystem::path cwd;
  };
  explicit Process(Options options);
  ~Process();  // stop() if still running
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return m_pid; }
  bool running();
  void signal(int sig);
  // SIGTERM, wait up to `grace`, then SIGKILL. Returns the exit code (or 128 + signal).
  int stop(std::chrono::milliseconds grace = 20s);
  // Waits for exit; nullopt on timeout (the process keeps running).
  std::optional<int> wait(std::chrono::milliseconds timeout = k_event_timeout);
  std::string output() const;  // everything written to stdout and stderr so far
  bool wait_for_output(const std::string& needle,
                       std::chrono::milliseconds timeout = k_event_timeout) const;
  const std::filesystem::path& log_file() const { return m_log; }

 private:
  pid_t m_pid = -1;
  std::optional<int> m_exit;
  std::filesystem::path m_log;
  std::unique_ptr<TempDir> m_own_dir;
};

// Runs a command to completion; returns exit code and combined output.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = k_event_timeout,
                          const std::vector<std::string>& env = {});

// Certificates for TLS tests, made with openssl on first use.
struct TlsFiles {
  std::filesystem::path ca_cert;
  std::filesystem::path server_cert;  // for 127.0.0.1 and localhost, signed by ca_cert
  std::filesystem::path server_key;
  std::filesystem::path client_cert;  // signed by ca_cert
  std::filesystem::path client_key;
  std::filesystem::path other_ca_cert;  // an unrelated CA: verifying against it must fail
};

// The certificates above, generated once per test process (cached until it exits).
// Throws std::runtime_error with openssl's output when generation fails.
const TlsFiles& test_tls_files();

// A real Mosquitto broker on loopback, anonymous access, no persistence.
class MosquittoServer {
 public:
  struct Options {
    bool tls = false;                  // also open a TLS listener (tls_port())
    bool require_client_cert = false;  // on the TLS listener
    // Keep sessions and queued QoS 1 messages on disk (saved every second and at a clean
    // stop), as the docs recommend for production: a restart keeps what the broker accepted.
    bool persistence = false;
    // More addresses to listen on with the same plain port (for example the host end of a
    // NetNamespace's veth pair). Only the suite's own addresses.
    std::vector<std::string> extra_addresses{};
  };
  MosquittoServer();
  explicit MosquittoServer(Options options);
  ~MosquittoServer();
  std::uint16_t port() const;
  std::uint16_t tls_port() const;
  std::string url() const;      // mqtt://127.0.0.1:<port>
  std::string tls_url() const;  // mqtts://127.0.0.1:<tls_port>
  const TlsFiles& tls_files() const;
  // Stops the broker; start() brings it back on the same ports.
  void stop();
  void start();
  // SIGKILL: no clean shutdown (with persistence, what was not yet saved is lost).
  void kill();
  bool running() const;
  std::string log() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// A real PostgreSQL 15 cluster on loopback in a temp dir (initdb as an unprivileged user when
// the tests run as root), trust authentication, superuser "postgres".
class PostgresServer {
 public:
  struct Options {
    // Commits are durable against a server crash (synchronous_commit = on; fsync stays off,
    // so only an operating system crash could lose them). Off by default: faster, but an
    // immediate shutdown (stop_immediate) may lose the last commits.
    bool durable_commits = false;
    // pg_stat_statements loaded, counting statements inside functions too (track = all): for
    // benchmarks that report where the server's time went.
    bool track_statements = false;
  };
  PostgresServer();
  explicit PostgresServer(Options options);
  ~PostgresServer();
  std::uint16_t port() const;
  // "host=127.0.0.1 port=<port> user=postgres dbname=<db>"
  std::string dsn(const std::string& db = "postgres") const;
  // Creates a database and returns its dsn.
  std::string create_database(const std::string& name);
  // Stops (fast shutdown); start() brings the same cluster back on the same port.
  void stop();
  // Immediate shutdown (SIGQUIT: no checkpoint, every session dropped, crash recovery at the
  // next start()).
  void stop_immediate();
  void start();
  bool running() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// Runs SQL through libpq; rows of text values (NULL as "NULL"). Throws std::runtime_error
// with the server's message on failure.
std::vector<std::vector<std::string>> pg_query(const std::string& dsn, const std::string& sql);
// The first column of the first row.
std::string pg_scalar(const std::string& dsn, const std::string& sql);

// An MQTT subscriber that records every message it receives (Paho MQTT C++ underneath).
// Paho C 1.3.12 shares one network thread per process: while one client is connected, every
// further client in the same process needs 1-2 s to connect. Prefer one probe per test, which
// can both subscribe and publish(), or run the code under test as a separate process.
class MqttProbe {
 public:
  struct Message {
    std::string topic;
    std::string payload;
    bool retained = false;
  };
  // Client certificate and trust anchor for an mqtts:// url; empty paths are not used.
  struct Tls {
    std::filesystem::path ca_cert;
    std::filesystem::path client_cert;
    std::filesystem::path client_key;
  };
  // Connects and returns once the broker acknowledged the subscriptions; reconnects and
  // resubscribes by itself when the broker restarts. Throws std::runtime_error when the
  // broker cannot be reached (or the TLS handshake fails) within k_event_timeout.
  MqttProbe(const std::string& url, const std::vector<std::string>& filters, int qos = 1);
  MqttProbe(const std::string& url, const std::vector<std::string>& filters, int qos,
            const Tls& tls);
  ~MqttProbe();
  std::vector<Message> messages() const;
  std::size_t count() const;
  bool wait_for_count(std::size_t n, std::chrono::milliseconds timeout = k_event_timeout) const;
  // Waits for a message whose topic equals `topic` (and whose payload contains `needle`).
  std::optional<Message> wait_for(const std::string& topic, const std::string& needle = {},
                                  std::chrono::milliseconds timeout = k_event_timeout) const;
  void clear();
  bool connected() const;
  // Waits until the probe is connected and its subscriptions are acknowledged again (after a
  // broker restart, for example).
  bool wait_connected(std::chrono::milliseconds timeout = k_event_timeout) const;
  // Publishes from the probe's own connection (QoS 1, waits for PUBACK).
  void publish(const std::string& topic, const std::string& payload, bool retained = false);

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// A local HTTP server (civetweb) answering from a route table; records every request.
class HttpFixtureServer {
 public:
  struct Response {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    // More headers. "Transfer-Encoding: chunked" sends the body in chunks without a
    // Content-Length (which is otherwise always sent), so the client learns its size only as it
    // arrives.
    std::map<std::string, std::string> headers;
    std::chrono::milliseconds delay{0};  // wait before answering (timeouts)
    bool hang = false;                   // never answer until the server stops
  };
  struct Request {
    std::string method;
    std::string path;                            // without the query
    std::string query;                           // without '?'
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;
  };
  HttpFixtureServer();
  ~HttpFixtureServer();
  std::uint16_t port() const;
  std::string url(const std::string& path = "/") const;  // http://127.0.0.1:<port><path>
  // Answers `path` (exact match, query ignored) with `response`; replaces an earlier route.
  void route(const std::string& path, Response response);
  // Answers `path` with the successive responses, repeating the last one.
  void route_sequence(const std::string& path, std::vector<Response> responses);
  // A file under tests/fixtures/ as the body.
  static std::string fixture(const std::string& relative_path);
  std::vector<Request> requests() const;
  std::size_t request_count(const std::string& path) const;
  void clear_requests();

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// A network namespace joined to the test's own by a veth pair, with a /30 of link-local
// addresses (169.254.0.0/16, never routed) for its two ends. Programs run inside it through
// command_prefix(); link_down()/link_up() cut and restore the only path out. Needs root.
// Names start with "st-<pid>-": the constructor first removes namespaces and links left by
// test processes that no longer exist; the destructor removes its own, also after a failure.
class NetNamespace {
 public:
  NetNamespace();
  ~NetNamespace();
  NetNamespace(const NetNamespace&) = delete;
  NetNamespace& operator=(const NetNamespace&) = delete;
  const std::string& name() const { return m_name; }
  const std::string& host_address() const { return m_host_address; }  // our end
  const std::string& inner_address() const { return m_inner_address; }
  // {"ip", "netns", "exec", <name>}: put before a program's argv to run it inside.
  std::vector<std::string> command_prefix() const;
  void link_down();  // both ends: packets are dropped, no reset is sent
  void link_up();

 private:
  std::string m_name;
  std::string m_host_link;
  std::string m_host_address;
  std::string m_inner_address;
};

// A small tmpfs mounted on a fresh directory (needs root), unmounted and removed on
// destruction. fill() takes every free byte with a filler file; release() deletes it.
class TmpfsMount {
 public:
  explicit TmpfsMount(std::size_t bytes);
  ~TmpfsMount();
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;
  const std::filesystem::path& path() const { return m_dir.path(); }
  void fill();
  void release();
  // Bytes still free on the file system.
  std::uintmax_t available() const;

 private:
  TempDir m_dir{"streamtrack-tmpfs"};
  bool m_mounted = false;
};

}  // namespace streamtrack::testing
