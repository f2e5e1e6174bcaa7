#include "web/http/static_files.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/support/harness.hpp"

namespace streamtrack::web::http {
namespace {

using streamtrack::testing::TempDir;
using streamtrack::testing::write_file;

Request get(const std::string& path) {
  Request r;
  r.method = "GET";
  r.path = path;
  return r;
}

TEST(ContentType, ModulesStylesAndManifestsGetTheirTypes) {
  EXPECT_EQ(content_type_for("app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type_for("x.MJS"), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type_for("s.css"), "text/css; charset=utf-8");
  EXPECT_EQ(content_type_for("i.svg"), "image/svg+xml");
  EXPECT_EQ(content_type_for("m.webmanifest"), "application/manifest+json");
  EXPECT_EQ(content_type_for("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(content_type_for("README"), "application/octet-stream");
  EXPECT_EQ(content_type_for("x.exe"), "application/octet-stream");
}

TEST(StaticFiles, ServesOnlyRegularFilesBelowTheRoot) {
  TempDir dir;
  std::filesystem::create_directories(dir / "ui/pages");
  write_file(dir / "ui/index.html", "<!doctype html>");
  write_file(dir / "ui/pages/index.html", "page");
  write_file(dir / "ui/.env", "secret");
  write_file(dir / "outside.txt", "outside");
  std::filesystem::create_symlink(dir / "outside.txt", dir / "ui/link.txt");
  std::filesystem::create_symlink("/etc", dir / "ui/etc");
  const StaticFiles files(dir / "ui");
  EXPECT_EQ(files.serve("/", get("/"))->body, "<!doctype html>");
  EXPECT_EQ(files.serve("/pages/", get("/pages/"))->body, "page");
  for (const std::string& evil : std::vector<std::string>{
           "/../outside.txt", "/pages/../../outside.txt", "/link.txt", "/etc/passwd", "/.env",
           "/pages", "/nothing", std::string("/index.html\0x", 13), "/..\\outside.txt"}) {
    EXPECT_FALSE(files.serve(evil, get(evil)).has_value()) << evil;
  }
}

TEST(StaticFiles, AnswersNotModifiedToItsOwnETag) {
  TempDir dir;
  write_file(dir / "a.js", "export {}");
  const StaticFiles files(dir.path());
  const auto first = files.serve("/a.js", get("/a.js"));
  ASSERT_TRUE(first.has_value());
  std::string etag;
  for (const auto& [k, v] : first->headers) {
    if (k == "ETag") etag = v;
  }
  ASSERT_FALSE(etag.empty());
  auto again = get("/a.js");
  again.headers["if-none-match"] = etag;
  const auto second = files.serve("/a.js", again);
  EXPECT_EQ(second->status, 304);
  EXPECT_TRUE(second->body.empty());
}

}  // namespace
}  // namespace streamtrack::web::http
