#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mutex>
#include <stdexcept>
#include <thread>

#include "tests/support/harness.hpp"

namespace streamtrack::testing {

namespace fs = std::filesystem;

namespace {

constexpr const char* k_pg_bin = "/usr/lib/postgresql/15/bin";

bool traversable_by_others(const fs::path& dir) {
  for (fs::path p = fs::absolute(dir); !p.empty(); p = p.parent_path()) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0 || (st.st_mode & S_IXOTH) == 0) return false;
    if (p == p.parent_path()) break;
  }
  return true;
}

struct Account {
  uid_t uid;
  gid_t gid;
};

// PostgreSQL refuses to run as root; an unprivileged account runs it instead.
std::optional<Account> server_account() {
  if (::geteuid() != 0) return std::nullopt;
  const passwd* pw = ::getpwnam("nobody");
  if (pw == nullptr)
    throw std::runtime_error("PostgresServer: running as root but no user 'nobody'");
  return Account{pw->pw_uid, pw->pw_gid};
}

std::unique_ptr<TempDir> make_dir(bool for_other_user) {
  auto base = fs::temp_directory_path();
  if (for_other_user && !traversable_by_others(base)) base = "/tmp";
  auto dir = std::make_unique<TempDir>("streamtrack-postgres", base);
  if (for_other_user) ::chmod(dir->path().c_str(), 0755);
  return dir;
}

Process::Options server_options(std::vector<std::string> argv,
                                const std::optional<Account>& account, const fs::path& log,
                                const fs::path& cwd) {
  Process::Options po;
  po.argv = std::move(argv);
  po.log_file = log;
  po.cwd = cwd;
  if (account) {
    po.uid = account->uid;
    po.gid = account->gid;
  }
  return po;
}

void own(const fs::path& path, const std::optional<Account>& account) {
  fs::create_directories(path);
  ::chmod(path.c_str(), 0700);
  if (account && ::chown(path.c_str(), account->uid, account->gid) != 0) {
    throw std::runtime_error("PostgresServer: cannot chown " + path.string());
  }
}

// initdb takes about a second; it runs once per test process and every server starts from a
// copy of its result (cp -a keeps the owner, so the copy is ready for the server account).
fs::path template_data(const std::optional<Account>& account) {
  static std::mutex mutex;
  static std::unique_ptr<TempDir> dir;
  std::lock_guard lock(mutex);
  if (!dir) {
    auto fresh = make_dir(account.has_value());
    auto data = fresh->path() / "data";
    auto log = fresh->path() / "initdb.log";
    own(data, account);
    Process initdb(server_options(
        {std::string(k_pg_bin) + "/initdb", "-D", data.string(), "-U", "postgres", "--auth=trust",
         "-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions"},
        account, log, fresh->path()));
    auto code = initdb.wait(k_event_timeout);
    if (!code || *code != 0) {
      initdb.stop(1s);
      throw std::runtime_error("PostgresServer: initdb failed:\n" + read_file(log));
    }
    dir = std::move(fresh);
  }
  return dir->path() / "data";
}

std::string quote_ident(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

struct PostgresServer::Impl {
  std::optional<Account> account = server_account();
  std::unique_ptr<TempDir> dir = make_dir(account.has_value());
  std::uint16_t port = 0;
  bool durable_commits = false;
  bool track_statements = false;
  std::unique_ptr<Process> process;

  fs::path data() const { return dir->path() / "data"; }
  fs::path sockets() const { return dir->path() / "sockets"; }
  fs::path log_file() const { return dir->path() / "postgres.log"; }

  Process::Options options(std::vector<std::string> argv) const {
    return server_options(std::move(argv), account, log_file(), dir->path());
  }

  void init() {
    own(sockets(), account);
    auto result = run_command({"cp", "-a", template_data(account).string(), data().string()});
    if (result.exit_code != 0) {
      throw std::runtime_error("PostgresServer: copying the initdb template failed:\n" +
                               result.output);
    }
  }

  std::string dsn(const std::string& db) const {
    return "host=127.0.0.1 port=" + std::to_string(port) + " user=postgres dbname=" + db;
  }

  bool ready() const {
    return PQping((dsn("postgres") + " connect_timeout=5").c_str()) == PQPING_OK;
  }

  void start() {
    std::string failure;
    for (int attempt = 0; attempt < 50; ++attempt) {
      auto log_offset = fs::exists(log_file()) ? fs::file_size(log_file()) : 0;
      std::vector<std::string> argv{
          std::string(k_pg_bin) + "/postgres",
          "-D",
          data().string(),
          "-p",
          std::to_string(port),
          "-c",
          "listen_addresses=127.0.0.1",
          "-c",
          "unix_socket_directories=" + sockets().string(),
          "-c",
          "fsync=off",
          "-c",
          std::string("synchronous_commit=") + (durable_commits ? "on" : "off"),
          "-c",
          "full_page_writes=off"};
      if (track_statements) {
        argv.insert(argv.end(), {"-c", "shared_preload_libraries=pg_stat_statements", "-c",
                                 "pg_stat_statements.track=all"});
      }
      process = std::make_unique<Process>(options(std::move(argv)));
      wait_until([&] { return !process->running() || ready(); });
      if (process->running() && ready()) {
        // The server answering must be ours, not another cluster on the same port.
        const auto served = pg_scalar(dsn("postgres"), "SHOW data_directory");
        if (fs::equivalent(fs::path(served), data())) return;
        failure = "port " + std::to_string(port) + " is served by another cluster (" + served + ")";
        process->stop(5s);
        process.reset();
        break;
      }
      failure = read_file(log_file()).substr(log_offset);
      process->stop(5s);
      process.reset();
      if (failure.find("Address already in use") == std::string::npos) break;
      std::this_thread::sleep_for(200ms);
    }
    throw std::runtime_error("PostgresServer: postgres did not start:\n" + failure);
  }

  void stop() {
    if (!process) return;
    // SIGINT is PostgreSQL's fast shutdown: roll back sessions, checkpoint, exit.
    process->signal(SIGINT);
    if (!process->wait(k_event_timeout)) process->stop(5s);
    process.reset();
  }
};

PostgresServer::PostgresServer() : PostgresServer(Options{}) {}

PostgresServer::PostgresServer(Options options) : m_impl(std::make_unique<Impl>()) {
  m_impl->durable_commits = options.durable_commits;
  m_impl->track_statements = options.track_statements;
  m_impl->port = free_port();
  m_impl->init();
  m_impl->start();
}

PostgresServer::~PostgresServer() {
  m_impl->stop();
}

std::uint16_t PostgresServer::port() const {
  return m_impl->port;
}

std::string PostgresServer::dsn(const std::string& db) const {
  return m_impl->dsn(db);
}

std::string PostgresServer::create_database(const std::string& name) {
  pg_query(dsn(), "CREATE DATABASE " + quote_ident(name));
  return dsn(name);
}

void PostgresServer::stop() {
  m_impl->stop();
}

void PostgresServer::stop_immediate() {
  if (!m_impl->process) return;
  m_impl->process->signal(SIGQUIT);
  if (!m_impl->process->wait(k_event_timeout)) m_impl->process->stop(5s);
  m_impl->process.reset();
}

void PostgresServer::start() {
  if (running()) return;
  m_impl->start();
}

bool PostgresServer::running() const {
  return m_impl->process && m_impl->process->running();
}

std::vector<std::vector<std::string>> pg_query(const std::string& dsn, const std::string& sql) {
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(dsn.c_str()), &PQfinish);
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
    throw std::runtime_error("pg_query: connect (" + dsn +
                             "): " + (conn ? PQerrorMessage(conn.get()) : "out of memory"));
  }
  std::unique_ptr<PGresult, decltype(&PQclear)> res(PQexec(conn.get(), sql.c_str()), &PQclear);
  auto status = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    throw std::runtime_error("pg_query: " + sql + ": " +
                             (res ? PQresultErrorMessage(res.get()) : PQerrorMessage(conn.get())));
  }
  std::vector<std::vector<std::string>> rows;
  int n_rows = PQntuples(res.get());
  int n_cols = PQnfields(res.get());
  rows.reserve(static_cast<std::size_t>(n_rows));
  for (int r = 0; r < n_rows; ++r) {
    std::vector<std::string> row;
    row.reserve(static_cast<std::size_t>(n_cols));
    for (int c = 0; c < n_cols; ++c) {
      row.emplace_back(PQgetisnull(res.get(), r, c) ? "NULL" : PQgetvalue(res.get(), r, c));
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string pg_scalar(const std::string& dsn, const std::string& sql) {
  auto rows = pg_query(dsn, sql);
  if (rows.empty() || rows.front().empty()) {
    throw std::runtime_error("pg_scalar: no value from: " + sql);
  }
  return rows.front().front();
}

}  // namespace streamtrack::testing
