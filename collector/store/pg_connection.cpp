#include "collector/store/pg_connection.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <exception>
#include <optional>
#include <utility>

namespace streamtrack::collector::store {

ErrorClass classify_sqlstate(std::string_view sqlstate) {
  if (sqlstate.size() < 2) return ErrorClass::transient;
  const auto cls = sqlstate.substr(0, 2);
  if (cls == "22" || cls == "23") return ErrorClass::data;
  return ErrorClass::transient;
}

std::string PgError::describe() const {
  if (m_sqlstate.empty()) return what();
  return "SQLSTATE " + m_sqlstate + ": " + what();
}

std::int64_t PgResult::affected() const {
  const char* n = PQcmdTuples(m_result.get());
  return (n && *n) ? std::stoll(n) : 0;
}

namespace {

std::string trim_message(const char* m) {
  std::string s = m ? m : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  const auto nl = s.find('\n');
  if (nl != std::string::npos) s = s.substr(0, nl);
  return s;
}

}  // namespace

namespace {

std::string whole_seconds(std::chrono::milliseconds d) {
  return std::to_string(
      std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(d).count()));
}

}  // namespace

PgConnection::PgConnection(const ConnectOptions& options) {
  std::vector<std::pair<const char*, std::string>> params{
      {"dbname", options.dsn},
      {"connect_timeout", whole_seconds(options.connect_timeout)},
      {"application_name", options.application_name},
      {"keepalives", "1"},
  };
  if (options.keepalive_idle.count() > 0) {
    params.emplace_back("keepalives_idle", whole_seconds(options.keepalive_idle));
  }
  if (options.keepalive_interval.count() > 0) {
    params.emplace_back("keepalives_interval", whole_seconds(options.keepalive_interval));
  }
  if (options.keepalive_count > 0) {
    params.emplace_back("keepalives_count", std::to_string(options.keepalive_count));
  }
  if (options.tcp_user_timeout.count() > 0) {
    params.emplace_back("tcp_user_timeout", std::to_string(options.tcp_user_timeout.count()));
  }
  if (options.password) params.emplace_back("password", *options.password);
  // After the expanded dsn: libpq lets a later dbname override the one inside it.
  if (options.database) params.emplace_back("dbname", *options.database);
  std::vector<const char*> keys;
  std::vector<const char*> values;
  for (const auto& [key, value] : params) {
    keys.push_back(key);
    values.push_back(value.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  m_conn = PQconnectdbParams(keys.data(), values.data(), 1);
  if (!m_conn || PQstatus(m_conn) != CONNECTION_OK) {
    const std::string message =
        m_conn ? trim_message(PQerrorMessage(m_conn)) : "out of memory creating a connection";
    if (m_conn) PQfinish(m_conn);
    m_conn = nullptr;
    throw PgError("08006", "cannot connect: " + message, ErrorClass::transient);
  }
  try {
    exec("SET TIME ZONE 'UTC'");
    // Acks follow commits and the agent then deletes the sample: a commit must survive a
    // server crash even where the server's default trades that for speed (off). Stronger
    // settings (synchronous replication) are kept.
    if (exec("SHOW synchronous_commit").text(0, 0) == "off") exec("SET synchronous_commit = local");
    if (options.statement_timeout.count() > 0) {
      exec("SET statement_timeout = " + std::to_string(options.statement_timeout.count()));
    }
    if (options.lock_timeout.count() > 0) {
      exec("SET lock_timeout = " + std::to_string(options.lock_timeout.count()));
    }
  } catch (...) {
    PQfinish(m_conn);
    m_conn = nullptr;
    throw;
  }
  m_cancel = PQgetCancel(m_conn);
}

PgConnection::~PgConnection() {
  if (m_cancel) PQfreeCancel(m_cancel);
  if (m_conn) PQfinish(m_conn);
}

std::string PgConnection::encrypt_password(const std::string& password, const std::string& role) {
  char* verifier = PQencryptPasswordConn(m_conn, password.c_str(), role.c_str(), "scram-sha-256");
  if (verifier == nullptr) {
    throw PgError("XX000", std::string("cannot encrypt a password: ") + PQerrorMessage(m_conn),
                  ErrorClass::transient);
  }
  std::string out = verifier;
  PQfreemem(verifier);
  return out;
}

void PgConnection::cancel() {
  if (!m_cancel) return;
  char error[256];
  PQcancel(m_cancel, error, sizeof error);
}

bool PgConnection::healthy() const {
  return m_conn && PQstatus(m_conn) == CONNECTION_OK;
}

PgResult PgConnection::check(PGresult* r) {
  PgResult result(r);
  const auto status = PQresultStatus(r);
  if (r && (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_COPY_IN ||
            status == PGRES_EMPTY_QUERY)) {
    return result;
  }
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  std::string sqlstate = state ? state : "";
  std::string message = r ? trim_message(PQresultErrorMessage(r)) : "";
  if (message.empty()) message = trim_message(PQerrorMessage(m_conn));
  if (!healthy()) sqlstate = sqlstate.empty() || sqlstate.substr(0, 2) != "57" ? "08006" : sqlstate;
  throw PgError(sqlstate, message, classify_sqlstate(sqlstate));
}

PgResult PgConnection::exec(const std::string& sql) {
  return check(PQexec(m_conn, sql.c_str()));
}

PgResult PgConnection::exec(const std::string& sql, const Params& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  return check(PQexecParams(m_conn, sql.c_str(), static_cast<int>(values.size()), nullptr,
                            values.data(), nullptr, nullptr, 0));
}

PgResult PgConnection::exec(const std::string& sql, const Params& params,
                            const std::vector<ParamFormat>& formats) {
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> binary;
  values.reserve(params.size());
  lengths.reserve(params.size());
  binary.reserve(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    const auto& p = params[i];
    const bool is_binary = i < formats.size() && formats[i] == ParamFormat::binary;
    values.push_back(p ? p->data() : nullptr);
    lengths.push_back(p && is_binary ? static_cast<int>(p->size()) : 0);
    binary.push_back(is_binary ? 1 : 0);
  }
  return check(PQexecParams(m_conn, sql.c_str(), static_cast<int>(values.size()), nullptr,
                            values.data(), lengths.data(), binary.data(), 0));
}

std::optional<PgError> PgConnection::remaining_results_failure() {
  std::optional<PgError> failure;
  while (PGresult* r = PQgetResult(m_conn)) {
    try {
      check(r);
    } catch (const PgError& e) {
      if (!failure) failure = e;
    }
  }
  return failure;
}

void PgConnection::copy_in(const std::string& copy_sql, std::string_view data) {
  check(PQexec(m_conn, copy_sql.c_str()));
  constexpr std::size_t k_chunk = 1 << 20;
  for (std::size_t off = 0; off < data.size(); off += k_chunk) {
    const auto n = std::min(k_chunk, data.size() - off);
    if (PQputCopyData(m_conn, data.data() + off, static_cast<int>(n)) != 1) {
      PQputCopyEnd(m_conn, "client failed to send");
      break;
    }
  }
  if (PQputCopyEnd(m_conn, nullptr) != 1) {
    throw PgError("08006", trim_message(PQerrorMessage(m_conn)), ErrorClass::transient);
  }
  auto failure = remaining_results_failure();
  if (failure) throw *failure;
}

void PgConnection::copy_out(const std::string& copy_sql,
                            const std::function<void(std::string_view)>& sink) {
  PGresult* started = PQexec(m_conn, copy_sql.c_str());
  if (PQresultStatus(started) != PGRES_COPY_OUT) {
    check(started);  // throws the server's error
    throw PgError("42000", "not a COPY TO STDOUT statement: " + copy_sql, ErrorClass::transient);
  }
  PQclear(started);
  std::exception_ptr sink_failure;
  char* buffer = nullptr;
  int n = 0;
  while ((n = PQgetCopyData(m_conn, &buffer, 0)) > 0) {
    if (!sink_failure) {
      try {
        sink(std::string_view(buffer, static_cast<std::size_t>(n)));
      } catch (...) {
        sink_failure = std::current_exception();
      }
    }
    PQfreemem(buffer);
  }
  auto failure = remaining_results_failure();
  if (n == -2 && !failure) {
    failure = PgError("08006", trim_message(PQerrorMessage(m_conn)), ErrorClass::transient);
  }
  if (failure) throw *failure;
  if (sink_failure) std::rethrow_exception(sink_failure);
}

void append_copy_text(std::string& out, std::string_view value) {
  for (const char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out += c;
    }
  }
}

void ArrayLiteralBuilder::separate() {
  if (m_text.size() > 1) m_text += ',';
}

void ArrayLiteralBuilder::add(std::string_view value) {
  separate();
  m_text += '"';
  for (const char c : value) {
    if (c == '"' || c == '\\') m_text += '\\';
    m_text += c;
  }
  m_text += '"';
}

void ArrayLiteralBuilder::add_number(std::int64_t value) {
  separate();
  std::array<char, 24> buf{};
  const auto end = std::to_chars(buf.data(), buf.data() + buf.size(), value).ptr;
  m_text.append(buf.data(), end);
}

void ArrayLiteralBuilder::add_number(double value) {
  separate();
  std::array<char, 32> buf{};
  const auto end = std::to_chars(buf.data(), buf.data() + buf.size(), value).ptr;
  m_text.append(buf.data(), end);
}

void ArrayLiteralBuilder::add_timestamp(TimePoint t) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const int year = int(ymd.year());
  if (year < 0 || year > 9999) {
    add(format_rfc3339(t));
    return;
  }
  const hh_mm_ss hms{t - day};
  separate();
  // "YYYY-MM-DDTHH:MM:SS.mmmZ"
  std::array<char, 26> buf{};
  const auto put = [&buf](std::size_t at, int value, int width) {
    for (int i = width - 1; i >= 0; --i) {
      buf[at + static_cast<std::size_t>(i)] = static_cast<char>('0' + value % 10);
      value /= 10;
    }
  };
  buf[0] = '"';
  put(1, year, 4);
  buf[5] = '-';
  put(6, int(unsigned(ymd.month())), 2);
  buf[8] = '-';
  put(9, int(unsigned(ymd.day())), 2);
  buf[11] = 'T';
  put(12, int(hms.hours().count()), 2);
  buf[14] = ':';
  put(15, int(hms.minutes().count()), 2);
  buf[17] = ':';
  put(18, int(hms.seconds().count()), 2);
  buf[20] = '.';
  put(21, int(hms.subseconds().count()), 3);
  buf[24] = 'Z';
  buf[25] = '"';
  m_text.append(buf.data(), buf.size());
}

void ArrayLiteralBuilder::add_null() {
  separate();
  m_text += "NULL";
}

std::string ArrayLiteralBuilder::finish() && {
  m_text += '}';
  return std::move(m_text);
}

std::string array_literal(const std::vector<std::optional<std::string>>& values) {
  ArrayLiteralBuilder out;
  for (const auto& value : values) {
    if (value) {
      out.add(*value);
    } else {
      out.add_null();
    }
  }
  return std::move(out).finish();
}

std::string bytea_hex(std::string_view bytes) {
  static constexpr std::array<char, 16> k_hex{'0', '1', '2', '3', '4', '5', '6', '7',
                                              '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
  std::string out = "\\x";
  out.reserve(2 + bytes.size() * 2);
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out += k_hex[b >> 4];
    out += k_hex[b & 0x0f];
  }
  return out;
}

namespace {

// PostgreSQL's binary formats are big-endian.
void put_be(std::string& out, std::uint64_t value, int bytes) {
  for (int shift = (bytes - 1) * 8; shift >= 0; shift -= 8) {
    out += static_cast<char>((value >> shift) & 0xff);
  }
}

// The array header: dimensions, a has-null flag, the element type, then (one dimension) its
// length and lower bound.
constexpr std::size_t k_header_bytes = 20;

}  // namespace

BinaryArrayBuilder::BinaryArrayBuilder(Element type) : m_type(type) {
  m_bytes.resize(k_header_bytes);
}

void BinaryArrayBuilder::reserve(std::size_t elements) {
  m_bytes.reserve(k_header_bytes + elements * 12);
}

void BinaryArrayBuilder::put_length(std::int32_t length) {
  ++m_elements;
  put_be(m_bytes, static_cast<std::uint32_t>(length), 4);
}

void BinaryArrayBuilder::add_bool(bool value) {
  put_length(1);
  m_bytes += static_cast<char>(value ? 1 : 0);
}

void BinaryArrayBuilder::add_int8(std::int64_t value) {
  put_length(8);
  put_be(m_bytes, static_cast<std::uint64_t>(value), 8);
}

void BinaryArrayBuilder::add_int4(std::int32_t value) {
  put_length(4);
  put_be(m_bytes, static_cast<std::uint32_t>(value), 4);
}

void BinaryArrayBuilder::add_float8(double value) {
  put_length(8);
  put_be(m_bytes, std::bit_cast<std::uint64_t>(value), 8);
}

void BinaryArrayBuilder::add_timestamp(TimePoint t) {
  using namespace std::chrono;
  constexpr auto k_postgres_epoch = sys_days{year{2000} / January / 1};
  add_int8(duration_cast<microseconds>(t - k_postgres_epoch).count());
}

void BinaryArrayBuilder::add_null() {
  m_has_null = true;
  put_length(-1);
}

std::string BinaryArrayBuilder::finish() && {
  std::string header;
  header.reserve(k_header_bytes);
  if (m_elements == 0) {
    // An empty array has no dimensions.
    put_be(header, 0, 4);
    put_be(header, 0, 4);
    put_be(header, static_cast<std::uint32_t>(m_type), 4);
    return header;
  }
  put_be(header, 1, 4);
  put_be(header, m_has_null ? 1 : 0, 4);
  put_be(header, static_cast<std::uint32_t>(m_type), 4);
  put_be(header, static_cast<std::uint32_t>(m_elements), 4);
  put_be(header, 1, 4);
  m_bytes.replace(0, k_header_bytes, header);
  return std::move(m_bytes);
}

bool binary_time_reads_as_text(TimePoint t) {
  using namespace std::chrono;
  const int y = int(year_month_day{floor<days>(t)}.year());
  return y >= 1 && y <= 9999;
}

}  // namespace streamtrack::collector::store
