#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/wire/codec.hpp"
#include "common/wire/topics.hpp"
#include "tests/support/harness.hpp"

namespace streamtrack::collector::testing {

using namespace streamtrack::testing;

inline const wire::Topics k_topics{"st/v1"};

struct CollectorOptions {
  std::string id = "c1";
  std::string shared_group;
  int pool_size = 2;
  std::string max_delay = "50ms";
  std::string postgres_extra;  // more keys of [postgres]
  std::string batch_extra;     // more keys of [batch]
  // [ingest] max_future: most tests publish fixed times in 2030, ahead of the real clock.
  std::string max_future = "3650d";
  std::string extra;             // more TOML appended at the end
  std::string http_listen;       // [http] listen; "" turns the endpoint off
  bool wait_connected = true;    // start_collector() waits for "mqtt: subscribed" (SUBACKs in)
  std::vector<std::string> env;  // e.g. STREAMTRACK_FAKE_NOW=...
};

// A real PostgreSQL and Mosquitto per test, and the real collector binary against them.
class CollectorTest : public ::testing::Test {
 protected:
  void SetUp() override;

  std::filesystem::path write_config(const CollectorOptions& o);
  std::unique_ptr<Process> start_collector(const CollectorOptions& o = {});

  std::int64_t count(const std::string& sql) const { return std::stoll(pg_scalar(m_dsn, sql)); }
  // Waits until `sql` returns `expected`; on timeout fails with the last value.
  void expect_count(const std::string& sql, std::int64_t expected) const;

  // Every seq the probe saw acknowledged on `agent`'s ack topic (with multiplicity).
  static std::multiset<std::int64_t> acked(const MqttProbe& probe, const std::string& agent);

  PostgresServer m_pg;
  MosquittoServer m_broker;
  TempDir m_dir{"streamtrack-collector-it"};
  std::string m_dsn;
};

Sample make_sample(const std::string& agent, std::int64_t seq, const std::string& ts,
                   const std::string& channel, bool live = true,
                   std::optional<std::string> stream_id = {});

void publish(MqttProbe& probe, const Sample& s);

}  // namespace streamtrack::collector::testing
