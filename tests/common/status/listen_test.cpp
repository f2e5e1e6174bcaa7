#include "common/status/listen.hpp"

#include <gtest/gtest.h>

namespace streamtrack::status {
namespace {

TEST(ParseListen, AcceptsIpv4AndBracketedIpv6) {
  auto v4 = parse_listen("127.0.0.1:9464");
  ASSERT_TRUE(v4) << v4.error();
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 9464);
  EXPECT_FALSE(v4->ipv6);
  EXPECT_TRUE(v4->loopback);
  EXPECT_EQ(to_string(*v4), "127.0.0.1:9464");

  auto v6 = parse_listen("[::1]:9465");
  ASSERT_TRUE(v6) << v6.error();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_TRUE(v6->ipv6);
  EXPECT_TRUE(v6->loopback);
  EXPECT_EQ(to_string(*v6), "[::1]:9465");
}

TEST(ParseListen, KnowsWhatIsLoopback) {
  EXPECT_TRUE(parse_listen("127.10.0.2:1")->loopback);
  EXPECT_FALSE(parse_listen("0.0.0.0:9464")->loopback);
  EXPECT_FALSE(parse_listen("192.168.1.5:9464")->loopback);
  EXPECT_FALSE(parse_listen("[::]:9464")->loopback);
  EXPECT_EQ(parse_listen("127.0.0.1:0")->port, 0);
}

TEST(ParseListen, RejectsWithMessagesNamingTheValue) {
  EXPECT_EQ(parse_listen("9464").error(),
            R"(expected "address:port" like "127.0.0.1:9464", got "9464")");
  EXPECT_EQ(
      parse_listen("localhost:9464").error(),
      R"(expected an IP address (not a host name) like "127.0.0.1:9464", got "localhost:9464")");
  EXPECT_EQ(parse_listen("127.0.0.1:99999").error(),
            R"(expected a port from 0 to 65535, got "127.0.0.1:99999")");
  EXPECT_EQ(parse_listen("127.0.0.1:").error(),
            R"(expected a port from 0 to 65535, got "127.0.0.1:")");
  EXPECT_EQ(parse_listen("127.0.0.1:94x").error(),
            R"(expected a port from 0 to 65535, got "127.0.0.1:94x")");
  EXPECT_EQ(parse_listen("::1:9464").error(),
            R"(expected "address:port" like "127.0.0.1:9464", got "::1:9464")");
  EXPECT_EQ(parse_listen("[nope]:9464").error(),
            R"(expected an IPv6 address in brackets like "[::1]:9464", got "[nope]:9464")");
  EXPECT_FALSE(parse_listen(""));
  EXPECT_FALSE(parse_listen("[::1]9464"));
}

}  // namespace
}  // namespace streamtrack::status
