#include "web/db/pg.hpp"

#include <algorithm>

namespace streamtrack::web::db {

namespace {

std::string first_line(const char* m) {
  std::string s = m ? m : "";
  if (const auto nl = s.find('\n'); nl != std::string::npos) s.resize(nl);
  return s;
}

}  // namespace

Connection::Connection(const ConnectOptions& options) {
  const auto seconds = std::max<std::int64_t>(
      2, std::chrono::duration_cast<std::chrono::seconds>(options.connect_timeout).count());
  const std::string timeout = std::to_string(seconds);
  const std::string session =
      "-c TimeZone=UTC -c default_transaction_read_only=on "
      "-c statement_timeout=" +
      std::to_string(options.statement_timeout.count());
  std::vector<const char*> keys{"dbname", "connect_timeout", "application_name", "options"};
  std::vector<const char*> values{options.dsn.c_str(), timeout.c_str(),
                                  options.application_name.c_str(), session.c_str()};
  if (options.password) {
    keys.push_back("password");
    values.push_back(options.password->c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  m_conn = PQconnectdbParams(keys.data(), values.data(), 1);
  if (!m_conn || PQstatus(m_conn) != CONNECTION_OK) {
    const std::string message =
        m_conn ? first_line(PQerrorMessage(m_conn)) : "out of memory creating a connection";
    if (m_conn) PQfinish(m_conn);
    m_conn = nullptr;
    throw PgError("", "cannot connect: " + message);
  }
}

Connection::~Connection() {
  if (m_conn) PQfinish(m_conn);
}

bool Connection::healthy() const {
  return m_conn && PQstatus(m_conn) == CONNECTION_OK;
}

Result Connection::query(const std::string& sql, const Params& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  PGresult* r = PQexecParams(m_conn, sql.c_str(), static_cast<int>(values.size()), nullptr,
                             values.data(), nullptr, nullptr, 0);
  Result result(r);
  const auto status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) return result;
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  std::string message = r ? first_line(PQresultErrorMessage(r)) : "";
  if (message.empty()) message = first_line(PQerrorMessage(m_conn));
  throw PgError(state ? state : "", message);
}

Pool::Lease::~Lease() {
  if (m_conn) m_pool->give_back(std::move(m_conn));
}

Pool::Pool(Options options) : m_options(std::move(options)) {}

Pool::Lease Pool::acquire() {
  std::unique_lock lock(m_mutex);
  const auto deadline = Clock::now() + m_options.acquire_timeout;
  while (true) {
    while (!m_idle.empty()) {
      auto idle = std::move(m_idle.back());
      m_idle.pop_back();
      if (idle.conn->healthy()) return Lease(*this, std::move(idle.conn));
      --m_total;  // broken while idle (server restart): drop it and look again
    }
    if (m_total < m_options.max) {
      ++m_total;
      lock.unlock();
      try {
        return Lease(*this, std::make_unique<Connection>(m_options.connect));
      } catch (...) {
        lock.lock();
        --m_total;
        m_returned.notify_one();
        throw;
      }
    }
    if (m_returned.wait_until(lock, deadline) == std::cv_status::timeout && m_idle.empty() &&
        m_total >= m_options.max) {
      throw PoolBusy("all " + std::to_string(m_options.max) + " database connections are busy");
    }
  }
}

void Pool::give_back(std::unique_ptr<Connection> conn) {
  std::unique_ptr<Connection> closing;
  {
    std::lock_guard lock(m_mutex);
    if (conn->healthy()) {
      m_idle.push_back({std::move(conn), Clock::now()});
    } else {
      --m_total;
      closing = std::move(conn);
    }
  }
  m_returned.notify_one();
}

void Pool::reap() {
  std::vector<std::unique_ptr<Connection>> closing;
  {
    std::lock_guard lock(m_mutex);
    const auto cutoff = Clock::now() - m_options.idle;
    auto keep = std::stable_partition(m_idle.begin(), m_idle.end(),
                                      [cutoff](const Idle& i) { return i.since < cutoff; });
    for (auto it = m_idle.begin(); it != keep; ++it) closing.push_back(std::move(it->conn));
    m_total -= closing.size();
    m_idle.erase(m_idle.begin(), keep);
  }
}

Pool::Counts Pool::counts() const {
  std::lock_guard lock(m_mutex);
  return {m_idle.size(), m_total - m_idle.size()};
}

}  // namespace streamtrack::web::db
