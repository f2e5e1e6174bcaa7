#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

// The web daemon's own libpq face: read-only connections with a server-side statement timeout,
// and a bounded pool. Nothing outside web/db/ and web/live/listener sees libpq.
namespace streamtrack::web::db {

// A failed connect or statement. `sqlstate` is empty when the server never answered.
class PgError : public std::runtime_error {
 public:
  PgError(std::string sqlstate, const std::string& message)
      : std::runtime_error(message), m_sqlstate(std::move(sqlstate)) {}
  const std::string& sqlstate() const { return m_sqlstate; }
  // 57014: cancelled by statement_timeout.
  bool timed_out() const { return m_sqlstate == "57014"; }

 private:
  std::string m_sqlstate;
};

// No connection became free within the pool's acquire timeout.
class PoolBusy : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Result {
 public:
  explicit Result(PGresult* r) : m_result(r, &PQclear) {}
  int rows() const { return PQntuples(m_result.get()); }
  bool is_null(int row, int col) const { return PQgetisnull(m_result.get(), row, col) != 0; }
  std::string text(int row, int col) const { return PQgetvalue(m_result.get(), row, col); }
  std::int64_t integer(int row, int col) const { return std::stoll(text(row, col)); }
  double real(int row, int col) const { return std::stod(text(row, col)); }
  bool boolean(int row, int col) const { return text(row, col) == "t"; }

 private:
  std::unique_ptr<PGresult, void (*)(PGresult*)> m_result;
};

using Params = std::vector<std::optional<std::string>>;  // text parameters, nullopt is NULL

struct ConnectOptions {
  std::string dsn;
  std::optional<std::string> password;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds statement_timeout{5000};
  std::string application_name = "streamtrack-web";
};

class Connection {
 public:
  // Connects with TimeZone=UTC, default_transaction_read_only=on and the statement timeout set
  // for the session. Throws PgError.
  explicit Connection(const ConnectOptions& options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool healthy() const;
  // One statement with text parameters (never interpolated). Throws PgError.
  Result query(const std::string& sql, const Params& params = {});
  PGconn* raw() { return m_conn; }

 private:
  PGconn* m_conn = nullptr;
};

// At most `max` connections; an idle one is closed after `idle`. Thread-safe.
class Pool {
 public:
  struct Options {
    ConnectOptions connect;
    std::size_t max = 20;
    std::chrono::milliseconds idle{30'000};
    std::chrono::milliseconds acquire_timeout{2000};
  };

  // A borrowed connection, returned to the pool on destruction (closed instead when broken).
  class Lease {
   public:
    Lease(Pool& pool, std::unique_ptr<Connection> conn) : m_pool(&pool), m_conn(std::move(conn)) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    Connection& operator*() { return *m_conn; }
    Connection* operator->() { return m_conn.get(); }

   private:
    Pool* m_pool;
    std::unique_ptr<Connection> m_conn;
  };

  explicit Pool(Options options);

  // An idle connection, a new one while fewer than `max` exist, or waits up to the acquire
  // timeout for one to come back. Throws PoolBusy or PgError (cannot connect).
  Lease acquire();
  // Closes connections idle for longer than `idle`; call it now and then.
  void reap();

  struct Counts {
    std::size_t idle = 0;
    std::size_t busy = 0;
  };
  Counts counts() const;

 private:
  void give_back(std::unique_ptr<Connection> conn);
  using Clock = std::chrono::steady_clock;
  struct Idle {
    std::unique_ptr<Connection> conn;
    Clock::time_point since;
  };

  Options m_options;
  mutable std::mutex m_mutex;
  std::condition_variable m_returned;
  std::vector<Idle> m_idle;  // most recently used last
  std::size_t m_total = 0;
};

}  // namespace streamtrack::web::db
