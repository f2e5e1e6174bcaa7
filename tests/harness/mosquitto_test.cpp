#include <gtest/gtest.h>

#include <iostream>

#include "tests/support/harness.hpp"

namespace streamtrack::testing {
namespace {

using Clock = std::chrono::steady_clock;

long ms_since(Clock::time_point start) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
}

TEST(MosquittoServerTest, ProbeReceivesWhatAnotherProbePublishes) {
  auto start = Clock::now();
  MosquittoServer broker;
  std::cout << "[timing] mosquitto start: " << ms_since(start) << " ms\n";
  EXPECT_TRUE(broker.running());
  EXPECT_EQ(broker.url(), "mqtt://127.0.0.1:" + std::to_string(broker.port()));

  MqttProbe subscriber(broker.url(), {"harness/#"});
  MqttProbe publisher(broker.url(), {});
  publisher.publish("harness/a", "first");
  publisher.publish("other/topic", "not for the subscriber");
  publisher.publish("harness/b/c", "second", true);

  ASSERT_TRUE(subscriber.wait_for_count(2));
  auto got = subscriber.wait_for("harness/b/c", "sec");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->payload, "second");
  EXPECT_FALSE(got->retained);  // delivered live, not from the retained store
  auto all = subscriber.messages();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].topic, "harness/a");
  EXPECT_EQ(all[0].payload, "first");
  EXPECT_FALSE(subscriber.wait_for("other/topic", "", 200ms).has_value());

  // A late subscriber gets the retained message flagged as retained.
  MqttProbe late(broker.url(), {"harness/b/c"});
  auto retained = late.wait_for("harness/b/c");
  ASSERT_TRUE(retained.has_value());
  EXPECT_TRUE(retained->retained);

  subscriber.clear();
  EXPECT_EQ(subscriber.count(), 0u);
  EXPECT_NE(broker.log().find("mosquitto version"), std::string::npos) << broker.log();
}

TEST(MosquittoServerTest, RestartKeepsThePortAndProbesReconnect) {
  MosquittoServer broker;
  auto port = broker.port();
  MqttProbe subscriber(broker.url(), {"restart/#"});

  broker.stop();
  EXPECT_FALSE(broker.running());
  EXPECT_FALSE(port_accepts(port));
  EXPECT_TRUE(wait_until([&] { return !subscriber.connected(); }));

  auto start = Clock::now();
  broker.start();
  std::cout << "[timing] mosquitto restart on same port: " << ms_since(start) << " ms\n";
  EXPECT_TRUE(broker.running());
  EXPECT_EQ(broker.port(), port);

  ASSERT_TRUE(subscriber.wait_connected());
  MqttProbe publisher(broker.url(), {});
  publisher.publish("restart/x", "after restart");
  EXPECT_TRUE(subscriber.wait_for("restart/x", "after restart").has_value());
}

TEST(MosquittoServerTest, TlsListenerAcceptsTheTestCaOnly) {
  auto start = Clock::now();
  MosquittoServer broker({.tls = true, .require_client_cert = false});
  std::cout << "[timing] mosquitto start with TLS (certs cached after first use): "
            << ms_since(start) << " ms\n";
  const auto& tls = broker.tls_files();
  EXPECT_EQ(broker.tls_url(), "mqtts://127.0.0.1:" + std::to_string(broker.tls_port()));
  EXPECT_NE(broker.tls_port(), broker.port());

  MqttProbe subscriber(broker.tls_url(), {"tls/#"}, 1,
                       {.ca_cert = tls.ca_cert, .client_cert = {}, .client_key = {}});
  MqttProbe plain(broker.url(), {});
  plain.publish("tls/check", "over plain, read over tls");
  EXPECT_TRUE(subscriber.wait_for("tls/check").has_value());

  EXPECT_THROW(MqttProbe(broker.tls_url(), {"tls/#"}, 1,
                         {.ca_cert = tls.other_ca_cert, .client_cert = {}, .client_key = {}}),
               std::runtime_error);

  // The command-line client agrees: same CA works, the unrelated CA fails verification.
  auto ok =
      run_command({"mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(broker.tls_port()),
                   "--cafile", tls.ca_cert.string(), "-t", "tls/cli", "-m", "from-cli"});
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_TRUE(subscriber.wait_for("tls/cli", "from-cli").has_value());
  auto bad =
      run_command({"mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(broker.tls_port()),
                   "--cafile", tls.other_ca_cert.string(), "-t", "tls/cli", "-m", "x"});
  EXPECT_NE(bad.exit_code, 0) << bad.output;
  auto by_name =
      run_command({"mosquitto_pub", "-h", "localhost", "-p", std::to_string(broker.tls_port()),
                   "--cafile", tls.ca_cert.string(), "-t", "tls/cli", "-m", "by-name"});
  EXPECT_EQ(by_name.exit_code, 0) << by_name.output;
}

TEST(MosquittoServerTest, TlsListenerCanRequireAClientCertificate) {
  MosquittoServer broker({.tls = true, .require_client_cert = true});
  const auto& tls = broker.tls_files();
  EXPECT_THROW(MqttProbe(broker.tls_url(), {"x"}, 1,
                         {.ca_cert = tls.ca_cert, .client_cert = {}, .client_key = {}}),
               std::runtime_error);
  MqttProbe with_cert(
      broker.tls_url(), {"mtls/#"}, 1,
      {.ca_cert = tls.ca_cert, .client_cert = tls.client_cert, .client_key = tls.client_key});
  with_cert.publish("mtls/a", "hello");
  EXPECT_TRUE(with_cert.wait_for("mtls/a", "hello").has_value());
}

TEST(MosquittoServerTest, TlsFilesAreSharedAndVerifiable) {
  const auto& a = test_tls_files();
  const auto& b = test_tls_files();
  EXPECT_EQ(&a, &b);
  auto verify = run_command({"openssl", "verify", "-CAfile", a.ca_cert.string(),
                             a.server_cert.string(), a.client_cert.string()});
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
  auto wrong = run_command(
      {"openssl", "verify", "-CAfile", a.other_ca_cert.string(), a.server_cert.string()});
  EXPECT_NE(wrong.exit_code, 0) << wrong.output;
}

TEST(MqttProbeTest, ConnectingToNothingThrows) {
  auto port = free_port();
  EXPECT_THROW(MqttProbe("mqtt://127.0.0.1:" + std::to_string(port), {"x"}), std::runtime_error);
}

}  // namespace
}  // namespace streamtrack::testing
