#include "web/api/reply.hpp"

#include <string_view>
#include <utility>

namespace streamtrack::web::api {

using nlohmann::json;

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

json text_or_null(const db::Result& r, int row, int col) {
  return r.is_null(row, col) ? json(nullptr) : json(r.text(row, col));
}
json int_or_null(const db::Result& r, int row, int col) {
  return r.is_null(row, col) ? json(nullptr) : json(r.integer(row, col));
}
json real_or_null(const db::Result& r, int row, int col) {
  return r.is_null(row, col) ? json(nullptr) : json(r.real(row, col));
}

json row_json(const db::Result& r, int row, std::initializer_list<Field> fields) {
  json out = json::object();
  int col = 0;
  for (const auto& field : fields) {
    switch (field.type) {
      case Column::integer:
        out[field.name] = r.integer(row, col);
        break;
      case Column::text:
        out[field.name] = r.text(row, col);
        break;
      case Column::boolean:
        out[field.name] = r.boolean(row, col);
        break;
      case Column::integer_or_null:
        out[field.name] = int_or_null(r, row, col);
        break;
      case Column::real_or_null:
        out[field.name] = real_or_null(r, row, col);
        break;
      case Column::text_or_null:
        out[field.name] = text_or_null(r, row, col);
        break;
    }
    ++col;
  }
  return out;
}

Response json_reply(const json& body, int status) {
  Response r;
  r.status = status;
  r.body = dump(body);
  r.headers.emplace_back("Cache-Control", "no-cache");
  return r;
}

Response busy_reply(const std::string& code, const std::string& message, int retry_after_seconds) {
  Response r =
      json_reply({{"error", {{"code", code}, {"parameter", nullptr}, {"message", message}}}}, 503);
  r.headers.emplace_back("Retry-After", std::to_string(retry_after_seconds));
  return r;
}

bool wants_csv(const Request& request, const Query& query) {
  const auto format = query.choice("format", "json", {"json", "csv"});
  if (format == "csv") return true;
  if (query.get("format")) return false;
  const auto accept = request.header("accept").value_or("");
  return accept.find("text/csv") != std::string::npos &&
         accept.find("application/json") == std::string::npos;
}

Response csv_reply(std::string body, const std::string& filename) {
  Response r;
  r.content_type = "text/csv; charset=utf-8";
  r.body = std::move(body);
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + filename + "\"");
  return r;
}

std::string csv_number(const json& v) {
  if (v.is_null()) return "";
  if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
  return v.dump();
}

bool etag_matches(const std::optional<std::string>& header, const std::string& etag) {
  if (!header) return false;
  const auto strip_weak = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    if (s.starts_with("W/")) s.remove_prefix(2);
    return s;
  };
  const auto want = strip_weak(etag);
  std::string_view rest = *header;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const auto item = strip_weak(rest.substr(0, comma));
    if (item == "*" || item == want) return true;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return false;
}

db::Result query_page(db::Connection& conn, const std::string& sql, const db::Params& params,
                      bool has_cursor) {
  try {
    return conn.query(sql, params);
  } catch (const db::PgError& e) {
    if (has_cursor && e.sqlstate().starts_with("22")) throw bad_cursor();
    throw;
  }
}

void require_channel(db::Connection& conn, std::int64_t id, const std::string& parameter) {
  if (conn.query("SELECT 1 FROM channels WHERE id = $1", {std::to_string(id)}).rows() == 0) {
    throw not_found(parameter, "no channel with id " + std::to_string(id));
  }
}

}  // namespace streamtrack::web::api
