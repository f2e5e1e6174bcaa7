#include "web/http/static_files.hpp"

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

namespace streamtrack::web::http {

namespace fs = std::filesystem;

namespace {

constexpr std::uintmax_t k_max_file_bytes = 64ULL << 20;

bool safe_relative(std::string_view rel) {
  if (rel.find('\0') != std::string_view::npos || rel.find('\\') != std::string_view::npos) {
    return false;
  }
  std::size_t start = 0;
  while (start <= rel.size()) {
    const auto slash = rel.find('/', start);
    const auto part = rel.substr(start, slash == std::string_view::npos ? rel.npos : slash - start);
    // Empty parts ("a//b") are harmless; dot-files and ".." are refused.
    if (!part.empty() && part.front() == '.') return false;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return true;
}

}  // namespace

std::string content_type_for(std::string_view filename) {
  static const std::map<std::string, std::string, std::less<>> k_types{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".webmanifest", "application/manifest+json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".ico", "image/x-icon"},
      {".webp", "image/webp"},
      {".woff2", "font/woff2"},
      {".woff", "font/woff"},
      {".txt", "text/plain; charset=utf-8"},
  };
  const auto dot = filename.rfind('.');
  if (dot == std::string_view::npos) return "application/octet-stream";
  std::string ext(filename.substr(dot));
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto it = k_types.find(ext);
  return it == k_types.end() ? "application/octet-stream" : it->second;
}

StaticFiles::StaticFiles(const fs::path& root) {
  std::error_code ec;
  auto canonical = fs::weakly_canonical(root, ec);
  m_root = ec ? root : canonical;
}

std::optional<Response> StaticFiles::serve(std::string_view relative,
                                           const Request& request) const {
  while (!relative.empty() && relative.front() == '/') relative.remove_prefix(1);
  std::string rel(relative);
  if (rel.empty() || rel.back() == '/') rel += "index.html";
  if (!safe_relative(rel)) return std::nullopt;
  std::error_code ec;
  const auto path = fs::weakly_canonical(m_root / rel, ec);
  if (ec) return std::nullopt;
  // After resolving symlinks the file must still be below the root.
  const auto [root_end, _] = std::mismatch(m_root.begin(), m_root.end(), path.begin(), path.end());
  if (root_end != m_root.end()) return std::nullopt;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
      static_cast<std::uintmax_t>(st.st_size) > k_max_file_bytes) {
    return std::nullopt;
  }
  char etag[64];
  std::snprintf(etag, sizeof etag, "\"%llx-%llx\"", static_cast<unsigned long long>(st.st_size),
                static_cast<unsigned long long>(st.st_mtim.tv_sec) * 1000ULL +
                    static_cast<unsigned long long>(st.st_mtim.tv_nsec / 1'000'000));
  Response r;
  r.content_type = content_type_for(path.filename().string());
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.headers.emplace_back("ETag", etag);
  if (const auto inm = request.header("if-none-match"); inm && *inm == etag) {
    r.status = 304;
    return r;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream body;
  body << in.rdbuf();
  r.body = body.str();
  return r;
}

}  // namespace streamtrack::web::http
