#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "web/api/request.hpp"

// Files under one directory, served read-only: no path outside the root (no "..", no NUL, no
// backslash, no hidden files, symlinks resolved and checked), regular files only, content
// types by extension (JavaScript modules as text/javascript), ETag from size and mtime.
namespace streamtrack::web::http {

// "text/javascript; charset=utf-8" for "app.js"; application/octet-stream when unknown.
std::string content_type_for(std::string_view filename);

class StaticFiles {
 public:
  explicit StaticFiles(const std::filesystem::path& root);

  // Answers `relative` (the URL path below the mount point, already percent-decoded; empty or
  // ending in '/' means index.html there). nullopt when there is no such file.
  std::optional<Response> serve(std::string_view relative, const Request& request) const;

  // The root when a file under it is asked for, for logs and checks.
  const std::filesystem::path& root() const { return m_root; }

 private:
  std::filesystem::path m_root;
};

}  // namespace streamtrack::web::http
