#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>

#include "web/db/pg.hpp"

// The channel resource (channels.cpp), also embedded in a session's detail.
namespace streamtrack::web::api {

// The channel `id` as GET /api/v1/channels/{id} shows it, or null when there is none.
// Throws db::PgError.
nlohmann::json channel_or_null(db::Connection& conn, std::int64_t id);

}  // namespace streamtrack::web::api
