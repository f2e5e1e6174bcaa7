#include "web/http/auth.hpp"

#include <crypt.h>
#include <gtest/gtest.h>

namespace streamtrack::web::http {
namespace {

Request with_authorization(const std::string& value) {
  Request r;
  r.method = "GET";
  r.path = "/api/v1/stats";
  r.headers["authorization"] = value;
  return r;
}

std::string sha512_hash(const std::string& password) {
  crypt_data data{};
  const char* h = crypt_r(password.c_str(), "$6$unitsalt$", &data);
  return h ? h : "";
}

TEST(Auth, NoneLetsEverythingThrough) {
  const Auth auth(AuthMode::none, std::nullopt, "");
  EXPECT_FALSE(auth.check(Request{}).has_value());
}

TEST(Auth, TokenMustMatchExactly) {
  const Auth auth(AuthMode::token, "0123456789abcdef", "");
  EXPECT_EQ(auth.check(Request{})->status, 401);
  EXPECT_EQ(auth.check(with_authorization("Bearer 0123456789abcde"))->status, 401);
  EXPECT_EQ(auth.check(with_authorization("Bearer 0123456789abcdefX"))->status, 401);
  EXPECT_EQ(auth.check(with_authorization("Basic 0123456789abcdef"))->status, 401);
  EXPECT_FALSE(auth.check(with_authorization("Bearer 0123456789abcdef")).has_value());
}

TEST(Auth, BasicVerifiesCryptHashes) {
  const Auth auth(AuthMode::basic, std::nullopt,
                  "# comment\nops:" + sha512_hash("hunter22") + "\nplain:hunter22\n");
  EXPECT_FALSE(auth.check(with_authorization("Basic b3BzOmh1bnRlcjIy")).has_value());
  EXPECT_EQ(auth.check(with_authorization("Basic b3BzOndyb25n"))->status, 401);  // ops:wrong
  // A plain-text line is never accepted as a password ("plain:hunter22").
  EXPECT_EQ(auth.check(with_authorization("Basic cGxhaW46aHVudGVyMjI="))->status, 401);
  EXPECT_EQ(auth.check(with_authorization("Basic " + std::string(5000, 'A')))->status, 401);
  EXPECT_EQ(auth.check(with_authorization("Basic bm9jb2xvbg=="))->status, 401);  // "nocolon"
  const auto denied = auth.check(Request{});
  ASSERT_TRUE(denied.has_value());
  EXPECT_NE(denied->body.find("\"parameter\":\"Authorization\""), std::string::npos);
}

TEST(Auth, OnlyAnUnverifiedBasicCredentialIsExpensiveToCheck) {
  // The event loop answers cheap requests itself; a crypt(3) run must go to a worker, or a
  // stream of wrong passwords would stall every connection.
  const Auth basic(AuthMode::basic, std::nullopt, "ops:" + sha512_hash("hunter22") + "\n");
  EXPECT_TRUE(basic.is_cheap(Request{}));
  EXPECT_FALSE(basic.is_cheap(with_authorization("Basic b3BzOndyb25n")));
  EXPECT_FALSE(basic.is_cheap(with_authorization("Basic b3BzOmh1bnRlcjIy")));
  EXPECT_FALSE(basic.check(with_authorization("Basic b3BzOmh1bnRlcjIy")).has_value());
  EXPECT_TRUE(basic.is_cheap(with_authorization("Basic b3BzOmh1bnRlcjIy")));
  EXPECT_EQ(basic.hash_computations(), 1u);
  EXPECT_TRUE(
      Auth(AuthMode::token, "0123456789abcdef", "").is_cheap(with_authorization("Basic x")));
  EXPECT_TRUE(Auth(AuthMode::none, std::nullopt, "").is_cheap(with_authorization("Basic x")));
}

TEST(Auth, ACorrectPasswordIsHashedOnceNotOnEveryRequest) {
  // crypt(3) is slow on purpose; a dashboard sends many requests with the same credentials.
  const Auth auth(AuthMode::basic, std::nullopt, "ops:" + sha512_hash("hunter22") + "\n");
  for (int i = 0; i < 10; ++i) {
    EXPECT_FALSE(auth.check(with_authorization("Basic b3BzOmh1bnRlcjIy")).has_value());
  }
  EXPECT_EQ(auth.hash_computations(), 1u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(auth.check(with_authorization("Basic b3BzOndyb25n"))->status, 401);
  }
  EXPECT_EQ(auth.hash_computations(), 4u);  // wrong passwords are never remembered
}

TEST(Auth, APasswordFileWithoutHashesIsRefusedAtStartup) {
  EXPECT_THROW(Auth(AuthMode::basic, std::nullopt, "ops:plaintext\n"), std::runtime_error);
}

}  // namespace
}  // namespace streamtrack::web::http
