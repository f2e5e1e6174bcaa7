// Sustained samples/s from MQTT to committed rows through the real collector, beside the rate
// of a plain COPY of the same rows into the same table, measured in the same run.
//   collector_ingest_bench [samples=100000]
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <thread>

#include "common/mqtt/client.hpp"
#include "common/wire/codec.hpp"
#include "common/wire/topics.hpp"
#include "tests/support/harness.hpp"

using namespace streamtrack;
using namespace streamtrack::testing;
using Steady = std::chrono::steady_clock;

namespace {

std::filesystem::path collector_binary() {
  if (const char* dir = std::getenv("STREAMTRACK_BIN_DIR")) {
    return std::filesystem::path(dir) / "streamtrack-collector";
  }
  return std::filesystem::canonical("/proc/self/exe").parent_path().parent_path() / "bin" /
         "streamtrack-collector";
}

double seconds_since(Steady::time_point t) {
  return std::chrono::duration<double>(Steady::now() - t).count();
}

std::string copy_out(PGconn* conn, const std::string& sql) {
  PQclear(PQexec(conn, sql.c_str()));
  std::string data;
  char* buf = nullptr;
  int n = 0;
  while ((n = PQgetCopyData(conn, &buf, 0)) > 0) {
    data.append(buf, static_cast<std::size_t>(n));
    PQfreemem(buf);
  }
  PQclear(PQgetResult(conn));
  return data;
}

}  // namespace

int main(int argc, char** argv) {
  const int samples = argc > 1 ? std::atoi(argv[1]) : 100'000;
  PostgresServer pg;
  TempDir dir("streamtrack-bench");
  // Our own broker: the default one drops QoS 1 messages beyond 1000 queued per client, which
  // a benchmark publishing faster than the collector acknowledges would hit.
  const auto port = free_port();
  write_file(dir / "mosquitto.conf", "listener " + std::to_string(port) +
                                         " 127.0.0.1\nallow_anonymous true\n"
                                         "max_queued_messages 0\nmax_inflight_messages 0\n");
  Process broker({.argv = {"/usr/sbin/mosquitto", "-c", (dir / "mosquitto.conf").string()},
                  .env = {},
                  .log_file = dir / "mosquitto.log",
                  .uid = std::nullopt,
                  .gid = std::nullopt,
                  .cwd = {}});
  const std::string broker_url = "mqtt://127.0.0.1:" + std::to_string(port);
  const auto dsn = pg.create_database("streamtrack");
  write_file(dir / "collector.toml",
             "[collector]\nid = \"bench\"\n[mqtt]\nurl = \"" + broker_url +
                 "\"\ntopic_prefix = \"st/v1\"\n[postgres]\ndsn = \"" + dsn +
                 "\"\npool_size = 2\n[batch]\nmax_rows = 5000\nmax_delay = \"200ms\"\n"
                 "max_pending_rows = 200000\n[http]\nlisten = \"\"\n");
  Process collector({.argv = {collector_binary().string(), "-c", (dir / "collector.toml").string()},
                     .env = {},
                     .log_file = dir / "collector.log",
                     .uid = std::nullopt,
                     .gid = std::nullopt,
                     .cwd = {}});
  if (!collector.wait_for_output("mqtt: connected")) {
    std::cerr << "collector did not start:\n" << collector.output();
    return 1;
  }

  const wire::Topics topics("st/v1");
  std::vector<mqtt::Message> messages;
  messages.reserve(static_cast<std::size_t>(samples));
  const auto base = SystemClock::instance().now() - std::chrono::hours{1};
  for (int i = 0; i < samples; ++i) {
    Sample s;
    s.agent = "agent-" + std::to_string(i % 5);
    s.seq = i / 5 + 1;
    s.ts = base + std::chrono::milliseconds{i * 10};
    s.platform = "nginx_rtmp";
    s.channel = "live/" + std::to_string(i % 20);
    s.live = true;
    s.stream_id = "b" + std::to_string(i % 20);
    s.viewers = i % 1000;
    s.bitrate_kbps = 2500.5;
    s.fps = 30;
    messages.push_back(
        {topics.metrics(s.agent, s.platform, s.channel), wire::encode_sample(s), 1, false});
  }

  config::MqttSettings settings;
  settings.url = broker_url;
  settings.host = "127.0.0.1";
  settings.port = port;
  std::atomic<bool> up{false};
  mqtt::Client publisher(
      {.settings = settings,
       .client_id = "bench-publisher",
       .clean_session = true,
       .will = std::nullopt,
       .max_inflight = 1000,
       .subscriptions = {},
       .subscription_qos = 1},
      {.connected = [&] { up = true; }, .disconnected = {}, .message = {}, .delivered = {}});
  publisher.start();
  if (!wait_until([&] { return up.load(); })) return 1;

  const auto start = Steady::now();
  int sent = 0;
  while (sent < samples) {
    // Paho refuses a publish while max_inflight messages await PUBACK: wait a moment.
    if (publisher.publish(messages[static_cast<std::size_t>(sent)])) {
      ++sent;
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds{100});
    }
  }
  const std::string count_sql = "SELECT count(*) FROM livestream_metrics";
  if (!wait_until([&] { return std::stoi(pg_scalar(dsn, count_sql)) >= samples; },
                  std::chrono::minutes{10})) {
    std::cerr << "only " << pg_scalar(dsn, count_sql) << " rows committed\n";
    return 1;
  }
  const double ingest_s = seconds_since(start);
  publisher.stop(std::chrono::seconds{2});

  // Baseline: the same rows, COPYed straight into the same (emptied) table.
  PGconn* conn = PQconnectdb(dsn.c_str());
  const auto rows = copy_out(conn, "COPY (SELECT * FROM livestream_metrics) TO STDOUT");
  PQclear(PQexec(conn, "TRUNCATE livestream_metrics"));
  const auto copy_start = Steady::now();
  PQclear(PQexec(conn, "COPY livestream_metrics FROM STDIN"));
  PQputCopyData(conn, rows.data(), static_cast<int>(rows.size()));
  PQputCopyEnd(conn, nullptr);
  PGresult* r = PQgetResult(conn);
  const bool copy_ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  const double copy_s = seconds_since(copy_start);
  PQfinish(conn);
  if (!copy_ok || std::stoi(pg_scalar(dsn, count_sql)) != samples) {
    std::cerr << "baseline COPY failed\n";
    return 1;
  }

  const double ingest_rate = samples / ingest_s;
  const double copy_rate = samples / copy_s;
  std::printf("samples                      %d\n", samples);
  std::printf("mqtt -> committed rows       %10.0f samples/s (%.2f s)\n", ingest_rate, ingest_s);
  std::printf("plain COPY of the same rows  %10.0f rows/s    (%.2f s)\n", copy_rate, copy_s);
  std::printf("ratio collector / COPY       %10.3f\n", ingest_rate / copy_rate);
  collector.stop();
  return 0;
}
