#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/util/time.hpp"

// A thin RAII face of one libpq connection. Only collector/store/ and the maintenance modules
// (partitions/, analytics/, sessions/) see libpq; everything above talks to a Store.
namespace streamtrack::collector::store {

// What a failed statement means for the data that was being written. Only the rows themselves
// can be wrong in a way that retrying never fixes; everything else (a lock or statement timeout,
// a serialization failure, a read-only standby, a missing privilege or table, an internal error,
// a lost connection) is the database's state and may change, so the batch is kept and retried.
enum class ErrorClass {
  transient,  // anything but 22 and 23: keep the batch unacknowledged and retry it
  data,       // 22 data exception, 23 integrity constraint: the rows themselves are refused
};

// Classifies a five-character SQLSTATE; an empty state (libpq lost the connection before the
// server answered) is transient.
ErrorClass classify_sqlstate(std::string_view sqlstate);

// Thrown by PgConnection; caught at the Store boundary and turned into an outcome.
class PgError : public std::runtime_error {
 public:
  PgError(std::string sqlstate, const std::string& message, ErrorClass cls)
      : std::runtime_error(message), m_sqlstate(std::move(sqlstate)), m_class(cls) {}
  const std::string& sqlstate() const { return m_sqlstate; }
  ErrorClass error_class() const { return m_class; }
  // "SQLSTATE 22P02: invalid input syntax ..." (or the bare message without a state).
  std::string describe() const;

 private:
  std::string m_sqlstate;
  ErrorClass m_class;
};

// Rows of a finished statement, values as text.
class PgResult {
 public:
  explicit PgResult(PGresult* r) : m_result(r, &PQclear) {}
  int rows() const { return PQntuples(m_result.get()); }
  bool is_null(int row, int col) const { return PQgetisnull(m_result.get(), row, col) != 0; }
  std::string text(int row, int col) const { return PQgetvalue(m_result.get(), row, col); }
  std::int64_t integer(int row, int col) const { return std::stoll(text(row, col)); }
  // Rows changed by INSERT/UPDATE/DELETE.
  std::int64_t affected() const;

 private:
  std::unique_ptr<PGresult, void (*)(PGresult*)> m_result;
};

using Params = std::vector<std::optional<std::string>>;  // text parameters, nullopt is NULL

// How the server reads a parameter: as text (its input function), or in binary (its receive
// function: PostgreSQL's send/receive representation, which BinaryArrayBuilder writes).
enum class ParamFormat { text, binary };

struct ConnectOptions {
  std::string dsn;
  // Connects to this database instead of the one `dsn` names (other dsn settings stay).
  std::optional<std::string> database;
  std::optional<std::string> password;
  std::chrono::milliseconds connect_timeout{5000};
  std::string application_name = "streamtrack-collector";
  // Server-side limits set on the session after connecting; zero leaves the server's default.
  std::chrono::milliseconds statement_timeout{0};
  std::chrono::milliseconds lock_timeout{0};
  // TCP keepalives (idle time before the first probe, between probes, probes before giving
  // up) and how long sent data may stay unacknowledged: together they bound how long a
  // half-open connection can hang a caller. Zero leaves the system default.
  std::chrono::milliseconds keepalive_idle{0};
  std::chrono::milliseconds keepalive_interval{0};
  int keepalive_count = 0;
  std::chrono::milliseconds tcp_user_timeout{0};
};

class PgConnection {
 public:
  // Connects with TCP keepalives, sets the session time zone to UTC and the statement and lock
  // timeouts of `options`. Throws PgError (transient) on failure.
  explicit PgConnection(const ConnectOptions& options);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // False once libpq noticed the connection is gone.
  bool healthy() const;

  // Asks the server to cancel the statement running on this connection (it then fails with
  // SQLSTATE 57014); a no-op when none runs. Safe to call from another thread while this
  // object is alive.
  void cancel();

  // Runs one statement (or several, without parameters). Throws PgError.
  PgResult exec(const std::string& sql);
  PgResult exec(const std::string& sql, const Params& params);
  // The same with each parameter's format: formats[i] for params[i] (text where formats is
  // shorter). A binary value is sent with its length, so it may hold any byte.
  PgResult exec(const std::string& sql, const Params& params,
                const std::vector<ParamFormat>& formats);

  // The SCRAM-SHA-256 verifier of `password` for `role` (PQencryptPasswordConn), to send in
  // place of the password. Throws PgError.
  std::string encrypt_password(const std::string& password, const std::string& role);

  // COPY ... FROM STDIN with `data` in COPY text format. Throws PgError.
  void copy_in(const std::string& copy_sql, std::string_view data);

  // COPY ... TO STDOUT: hands each chunk the server sends to `sink`, in order. When `sink`
  // throws, the rest of the data is read and dropped and its exception rethrown after the
  // statement ended. Throws PgError.
  void copy_out(const std::string& copy_sql, const std::function<void(std::string_view)>& sink);

 private:
  PgResult check(PGresult* r);
  // Takes every result still pending (those of a COPY); the first failure among them, if any.
  std::optional<PgError> remaining_results_failure();
  PGconn* m_conn = nullptr;
  PGcancel* m_cancel = nullptr;
};

// Escapes a value for COPY text format (backslash, tab, newline, carriage return).
void append_copy_text(std::string& out, std::string_view value);

// The text form of a one-dimensional PostgreSQL array of `values` ("{\"a\",NULL}"), for a
// parameter such as $1::text[]: every element quoted with its backslashes and double quotes
// escaped, nullopt as NULL. The server casts each element to the array's element type.
std::string array_literal(const std::vector<std::optional<std::string>>& values);

// Builds the same text form element by element, without a vector of values.
class ArrayLiteralBuilder {
 public:
  ArrayLiteralBuilder() : m_text("{") {}
  void reserve(std::size_t bytes) { m_text.reserve(bytes); }
  void add(std::string_view value);
  // A number written straight into the literal (std::to_chars, no quotes): a double as the
  // shortest text that reads back as the same double.
  void add_number(std::int64_t value);
  void add_number(double value);
  // format_rfc3339(t), quoted, written without a temporary string.
  void add_timestamp(TimePoint t);
  void add_null();
  // The literal; the builder is spent.
  std::string finish() &&;

 private:
  void separate();
  std::string m_text;
};

// A one-dimensional array of one element type in PostgreSQL's binary array format (what
// array_send writes and array_recv reads), built element by element, for a parameter sent as
// ParamFormat::binary and cast to that array type in the statement ($1::bigint[]). The server
// reads it without parsing text: no number or date parsing per element.
class BinaryArrayBuilder {
 public:
  // The element types, as their PostgreSQL type OIDs.
  enum class Element : std::uint32_t {
    boolean = 16,
    int8 = 20,
    int4 = 23,
    float8 = 701,
    timestamptz = 1184,
  };
  explicit BinaryArrayBuilder(Element type);
  void reserve(std::size_t elements);
  void add_bool(bool value);
  void add_int8(std::int64_t value);
  void add_int4(std::int32_t value);
  void add_float8(double value);
  // Microseconds since 2000-01-01T00:00:00Z, PostgreSQL's timestamptz. Unlike text input,
  // binary takes any year PostgreSQL can hold (year 0000 as 1 BC): keep the years the text
  // form would refuse away where that matters.
  void add_timestamp(TimePoint t);
  void add_null();
  std::size_t size() const { return m_elements; }
  // The array's bytes; the builder is spent.
  std::string finish() &&;

 private:
  void put_length(std::int32_t length);
  Element m_type;
  std::size_t m_elements = 0;
  bool m_has_null = false;
  std::string m_bytes;
};

// Whether PostgreSQL reads `t` as text, written as format_rfc3339 writes it, as the same instant
// it reads in binary: a UTC year from 1 to 9999 (text refuses year 0000, which binary takes as
// 1 BC).
bool binary_time_reads_as_text(TimePoint t);

// "\x..." hex text that PostgreSQL reads as bytea input, for raw payloads of any bytes.
std::string bytea_hex(std::string_view bytes);

}  // namespace streamtrack::collector::store
