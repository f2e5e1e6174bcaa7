// Sustained samples/s from MQTT to committed rows through the real collector, beside two
// baselines measured in the same run: a plain COPY of the same rows into the same table, and
// the rate at which this bench publishes the same messages at QoS 1 when nobody subscribes
// (what the publishing side alone can do: the collector cannot be measured faster than that).
// Samples are realistic: 1,000 channels of 5 agents, each with a stream id, title, category,
// chat counts, a title change now and then and a new session (stream id) every 40 samples.
// PostgreSQL's CPU (every process of the server, from /proc) is compared per row between the
// collector's ingest and the plain COPY.
//   collector_ingest_bench [samples=100000] [max_delay=200ms] [max_rows=5000]
// (the collector's [batch] settings).
// With STREAMTRACK_BENCH_PAUSE set, the collector's pid is printed and the bench waits a few
// seconds before publishing, so that a profiler can attach (perf record -g -p <pid>).
// With STREAMTRACK_BENCH_PG_STATEMENTS set, the server counts its statements (also those inside
// functions) and the bench prints where its time went from the first publish to the last row
// committed (the bench's own polls for that last row included, as in the CPU figures); the
// counting costs time, so that run's figures are not the goals'.
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "bench/common/ingest_stack.hpp"
#include "bench/common/pg_copy.hpp"
#include "bench/common/pg_statements.hpp"
#include "common/mqtt/client.hpp"
#include "common/util/guarded_main.hpp"
#include "common/wire/codec.hpp"
#include "common/wire/topics.hpp"
#include "tests/support/alertmanager.hpp"
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

// The value of the unlabelled series `name` in a /metrics text, or 0 when absent.
double metric_value(const std::string& text, const std::string& name) {
  const auto at = text.find("\n" + name + " ");
  if (at == std::string::npos) return 0;
  return std::stod(text.substr(at + name.size() + 2));
}

}  // namespace

static int run_bench(int argc, char** argv) {
  const int samples = argc > 1 ? std::atoi(argv[1]) : 100'000;
  const std::string max_delay = argc > 2 ? argv[2] : "200ms";
  const std::string max_rows = argc > 3 ? argv[3] : "5000";
  const bool profile_statements = std::getenv("STREAMTRACK_BENCH_PG_STATEMENTS") != nullptr;
  PostgresServer pg(PostgresServer::Options{.track_statements = profile_statements});
  TempDir dir("streamtrack-bench");
  const bench::Broker broker(dir.path());
  const std::string& broker_url = broker.url;
  const auto dsn = pg.create_database("streamtrack");
  const auto metrics_port = free_port();
  write_file(dir / "collector.toml",
             bench::collector_toml(broker_url, dsn, max_delay, "",
                                   "127.0.0.1:" + std::to_string(metrics_port), max_rows));
  auto collector =
      bench::start_process({collector_binary().string(), "-c", (dir / "collector.toml").string()},
                           dir / "collector.log");
  if (!collector.wait_for_output("mqtt: connected")) {
    std::cerr << "collector did not start:\n" << collector.output();
    return 1;
  }

  const wire::Topics topics("st/v1");
  const wire::Topics unread("bench-unread/v1");  // no subscriber: the publish-only baseline
  std::vector<mqtt::Message> messages;
  std::vector<mqtt::Message> unread_messages;
  messages.reserve(static_cast<std::size_t>(samples));
  unread_messages.reserve(static_cast<std::size_t>(samples));
  const auto base = SystemClock::instance().now() - std::chrono::hours{1};
  for (int i = 0; i < samples; ++i) {
    auto s = bench::realistic_sample(i, 1000, base, std::chrono::milliseconds{10}, 40);
    s.agent = "agent-" + std::to_string(i % 1000 % 5);
    s.seq = i / 5 + 1;
    messages.push_back(
        {topics.metrics(s.agent, s.platform, s.channel), wire::encode_sample(s), 1, false});
    unread_messages.push_back(
        {unread.metrics(s.agent, s.platform, s.channel), messages.back().payload, 1, false});
  }

  config::MqttSettings settings;
  settings.url = broker_url;
  settings.host = "127.0.0.1";
  settings.port = broker.port;
  std::atomic<bool> up{false};
  std::atomic<int> acked{0};
  std::atomic<int> settled{0};  // PUBACKs and failures
  mqtt::Client publisher({.settings = settings,
                          .client_id = "bench-publisher",
                          .clean_session = true,
                          .will = std::nullopt,
                          .max_inflight = 1000,
                          .subscriptions = {},
                          .subscription_qos = 1},
                         {.connected = [&] { up = true; },
                          .disconnected = {},
                          .message = {},
                          .delivered =
                              [&](std::uint64_t, bool ok, const std::string&) {
                                if (ok) ++acked;
                                ++settled;
                              }});
  publisher.start();
  if (!wait_until([&] { return up.load(); })) return 1;

  // Our own window, well below Paho's max_inflight (as the agent's publisher keeps one): with
  // Paho 1.3.11, a publish queued while Paho's in-flight limit is reached waits for its send
  // thread's 1 s timeout (eclipse-paho/paho.mqtt.c#1457, fixed in 1.3.14), which stalled this
  // bench for ~1 s several times a run, in the baseline and the measurement alike.
  constexpr int k_window = 500;
  const auto publish_all = [&](const std::vector<mqtt::Message>& batch) {
    const int settled_before = settled.load();
    std::size_t sent = 0;
    while (sent < batch.size()) {
      if (static_cast<int>(sent) - (settled.load() - settled_before) < k_window &&
          publisher.publish(batch[sent])) {
        ++sent;
      } else {
        std::this_thread::sleep_for(std::chrono::microseconds{50});
      }
    }
  };

  // Baseline: the same payloads at QoS 1 to topics nobody reads, until every PUBACK is in.
  const double broker_cpu_baseline_before = bench::cpu_seconds(broker.pid());
  const double bench_cpu_baseline_before = bench::cpu_seconds(getpid());
  const auto publish_start = Steady::now();
  publish_all(unread_messages);
  if (!wait_until([&] { return acked.load() >= samples; }, std::chrono::minutes{2})) {
    std::cerr << "publish baseline: only " << acked.load() << " acknowledged\n";
    return 1;
  }
  const double publish_s = seconds_since(publish_start);
  const double broker_cpu_baseline = bench::cpu_seconds(broker.pid()) - broker_cpu_baseline_before;
  const double bench_cpu_baseline = bench::cpu_seconds(getpid()) - bench_cpu_baseline_before;

  if (std::getenv("STREAMTRACK_BENCH_PAUSE")) {
    std::cout << "collector pid " << collector.pid() << std::endl;
    std::this_thread::sleep_for(std::chrono::seconds{3});
  }
  if (profile_statements) bench::reset_statement_profile(dsn);
  const double collector_cpu_before = bench::cpu_seconds(collector.pid());
  const pid_t postmaster = bench::postmaster_pid(dsn);
  const double pg_cpu_before = bench::postgres_cpu_seconds(postmaster);
  const double broker_cpu_before = bench::cpu_seconds(broker.pid());
  const double bench_cpu_before = bench::cpu_seconds(getpid());
  const auto start = Steady::now();
  acked = 0;
  publish_all(messages);
  wait_until([&] { return acked.load() >= samples; }, std::chrono::minutes{2});
  const double published_s = seconds_since(start);
  const std::string count_sql = "SELECT count(*) FROM livestream_metrics";
  // One connection for the polls (a connection per poll would add a backend's start-up to the
  // server's CPU every 20 ms).
  PGconn* poll = PQconnectdb(dsn.c_str());
  const auto committed_rows = [&] {
    PGresult* r = PQexec(poll, count_sql.c_str());
    const long long n = PQresultStatus(r) == PGRES_TUPLES_OK ? std::atoll(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    return n;
  };
  const bool all_committed =
      wait_until([&] { return committed_rows() >= samples; }, std::chrono::minutes{10});
  PQfinish(poll);
  if (!all_committed) {
    std::cerr << "only " << pg_scalar(dsn, count_sql) << " rows committed\n";
    return 1;
  }
  const double ingest_s = seconds_since(start);
  const double collector_cpu = bench::cpu_seconds(collector.pid()) - collector_cpu_before;
  const double pg_cpu_ingest = bench::postgres_cpu_seconds(postmaster) - pg_cpu_before;
  if (profile_statements) {
    std::cout << "PostgreSQL statements during the ingest, by total time (a profile: counting "
                 "costs time, so this run's figures are not the goals')\n"
              << bench::statement_profile(dsn) << "\n";
  }
  const double broker_cpu = bench::cpu_seconds(broker.pid()) - broker_cpu_before;
  const double bench_cpu = bench::cpu_seconds(getpid()) - bench_cpu_before;
  // Batches of the whole run (the baseline published to topics the collector does not read).
  const auto metrics = http_get(metrics_port, "/metrics").second;
  const double batches = metric_value(metrics, "streamtrack_collector_batch_rows_count");
  const double batch_rows = metric_value(metrics, "streamtrack_collector_batch_rows_sum");
  const double batch_seconds =
      metric_value(metrics, "streamtrack_collector_batch_write_seconds_sum");
  publisher.stop(std::chrono::seconds{2});

  // Baseline: the same rows, COPYed straight into the same (emptied) table, three times.
  PGconn* conn = PQconnectdb(dsn.c_str());
  const auto rows = bench::copy_out(conn, "COPY (SELECT * FROM livestream_metrics) TO STDOUT");
  const auto baseline = bench::copy_baseline(conn, "livestream_metrics", rows, postmaster, false);
  PQfinish(conn);
  if (std::stoi(pg_scalar(dsn, count_sql)) != samples) {
    std::cerr << "baseline COPY stored another number of rows\n";
    return 1;
  }
  const double copy_s = baseline.median_seconds;
  const double pg_cpu_copy = baseline.median_pg_cpu_seconds;

  const double ingest_rate = samples / ingest_s;
  const double copy_rate = samples / copy_s;
  const double publish_rate = samples / publish_s;
  std::printf("samples                      %d\n", samples);
  std::printf("mqtt -> committed rows       %10.0f samples/s (%.2f s)\n", ingest_rate, ingest_s);
  std::printf("  last PUBACK to the bench after %.2f s\n", published_s);
  std::printf("plain COPY of the same rows  %10.0f rows/s    (median of %s)\n", copy_rate,
              bench::run_seconds_text(baseline).c_str());
  std::printf("QoS 1 publish, no subscriber %10.0f msgs/s    (%.2f s)\n", publish_rate, publish_s);
  std::printf("collector CPU                %10.1f us/sample (%.2f s)\n",
              collector_cpu * 1e6 / samples, collector_cpu);
  std::printf("broker CPU                   %10.1f us/sample (%.2f s; baseline %.1f us/msg)\n",
              broker_cpu * 1e6 / samples, broker_cpu, broker_cpu_baseline * 1e6 / samples);
  std::printf("publisher (this bench) CPU   %10.1f us/sample (%.2f s; baseline %.1f us/msg)\n",
              bench_cpu * 1e6 / samples, bench_cpu, bench_cpu_baseline * 1e6 / samples);
  std::printf("collector batches            %10.0f of %.0f rows on average, %.1f ms each\n",
              batches, batches > 0 ? batch_rows / batches : 0.0,
              batches > 0 ? batch_seconds * 1e3 / batches : 0.0);
  std::printf("ratio collector / COPY       %10.3f\n", ingest_rate / copy_rate);
  std::printf("ratio collector / publish    %10.3f\n", ingest_rate / publish_rate);
  const double pg_ratio = pg_cpu_ingest / pg_cpu_copy;
  std::printf("PostgreSQL CPU per row       %10.1f us ingest, %.1f us plain COPY\n",
              pg_cpu_ingest * 1e6 / samples, pg_cpu_copy * 1e6 / samples);
  std::printf(
      "goal collector_rate: %s ratio %.2f (committed rows/s %.0f / broker-only fan-in "
      "%.0f msg/s; goal >= 0.8)\n",
      ingest_rate / publish_rate >= 0.8 ? "met" : "NOT met", ingest_rate / publish_rate,
      ingest_rate, publish_rate);
  std::printf(
      "goal collector_pg_cpu: %s ratio %.2f (PostgreSQL CPU per row, ingest / plain COPY "
      "of the same rows; goal <= 2)\n",
      pg_ratio <= 2.0 ? "met" : "NOT met", pg_ratio);
  collector.stop();
  return 0;
}

int main(int argc, char** argv) {
  return streamtrack::guarded_main("collector_ingest_bench", [&] { return run_bench(argc, argv); });
}
