#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "web/api/params.hpp"
#include "web/api/request.hpp"
#include "web/db/pg.hpp"

// What every endpoint of web/api/ shares: result rows turned into JSON, JSON and CSV replies,
// conditional requests and keyset pages. Used only inside web/api/.
namespace streamtrack::web::api {

// RFC 3339 UTC with milliseconds, as every time in the API (sessions run with TimeZone=UTC):
// the SQL expression that formats the timestamptz expression `x` (a string literal).
#define ST_TS(x) "to_char((" x ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

// The JSON text of `j`; invalid UTF-8 from the database becomes U+FFFD, never an exception.
std::string dump(const nlohmann::json& j);

// How one column of a result row becomes a JSON value (SQL NULL: null, for the *_or_null ones).
enum class Column { integer, text, boolean, integer_or_null, real_or_null, text_or_null };
struct Field {
  const char* name;
  Column type;
};
// The object {fields[i].name: column i of `row`}: the fields name the columns in their order.
nlohmann::json row_json(const db::Result& r, int row, std::initializer_list<Field> fields);

nlohmann::json text_or_null(const db::Result& r, int row, int col);
nlohmann::json int_or_null(const db::Result& r, int row, int col);
nlohmann::json real_or_null(const db::Result& r, int row, int col);

// A JSON reply with `Cache-Control: no-cache`.
Response json_reply(const nlohmann::json& body, int status = 200);
// An error reply {"error":{"code", "parameter": null, "message"}} with `Retry-After`.
Response busy_reply(const std::string& code, const std::string& message, int retry_after_seconds);

// Whether the reply is CSV: `format=csv`, or no `format` and an Accept header that asks for
// text/csv but not JSON. Validates `format` (throws ApiError).
bool wants_csv(const Request& request, const Query& query);
// A CSV download named `filename`, with `Cache-Control: no-cache`.
Response csv_reply(std::string body, const std::string& filename);
// A number as CSV writes it; empty for null.
std::string csv_number(const nlohmann::json& v);

// Whether an If-None-Match header names `etag` (weak comparison, lists and `*` included).
bool etag_matches(const std::optional<std::string>& header, const std::string& etag);

// One page of a keyset-paginated list. A cursor is opaque to clients, so a forged one whose
// key does not parse as the sort column's type (SQLSTATE class 22) is the client's error:
// bad_cursor(). Other errors are thrown as they are.
db::Result query_page(db::Connection& conn, const std::string& sql, const db::Params& params,
                      bool has_cursor);

// Throws not_found(`parameter`) unless the channel `id` exists.
void require_channel(db::Connection& conn, std::int64_t id, const std::string& parameter);

}  // namespace streamtrack::web::api
