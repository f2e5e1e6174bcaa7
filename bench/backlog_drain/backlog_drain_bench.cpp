// Issue 13 goal 3: a backlog of one agent's outbox (1,000,000 samples by default) drained by
// the real streamtrack-agent through a real Mosquitto and the real streamtrack-collector into
// committed rows, against the baseline measured in the same run: a raw COPY of the same rows
// into the same (emptied) table of the same PostgreSQL.
//   backlog_drain_bench [samples=1000000] [channels=100] [delivery=committed|broker]
//                       [max_frame_samples=1000] [collector_max_rows=5000]
// The backlog is written beforehand with the real outbox API (agent/outbox), as an agent whose
// broker was unreachable would have stored it; the agent then starts with the broker up and
// sends it as frames. The drain ends when every backlog seq is a committed row (with
// delivery = committed the agent's outbox is then empty too). Rows are checked to be there
// exactly once. With STREAMTRACK_BENCH_PAUSE set, the pids of the agent and the collector are
// printed and the bench waits a few seconds before starting the agent (perf record -p).
#include <SQLiteCpp/SQLiteCpp.h>
#include <libpq-fe.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <regex>
#include <thread>

#include "agent/outbox/outbox.hpp"
#include "bench/common/ingest_stack.hpp"
#include "bench/common/pg_copy.hpp"
#include "common/util/guarded_main.hpp"
#include "tests/support/harness.hpp"

using namespace streamtrack;
using namespace streamtrack::testing;
using Steady = std::chrono::steady_clock;

namespace {

std::filesystem::path binary(const std::string& name) {
  if (const char* dir = std::getenv("STREAMTRACK_BIN_DIR"))
    return std::filesystem::path(dir) / name;
  return std::filesystem::canonical("/proc/self/exe").parent_path().parent_path() / "bin" / name;
}

double seconds_since(Steady::time_point t) {
  return std::chrono::duration<double>(Steady::now() - t).count();
}

// Realistic samples of `channels` channels of one agent: stream ids, titles, categories, chat,
// a title change every 10 samples of a channel and a new broadcast every 400.
void fill_outbox(const std::filesystem::path& path, std::int64_t samples, int channels) {
  agent::outbox::Options options;
  options.limits.max_rows = 2 * samples + 1000;
  options.limits.max_bytes = std::int64_t{4} << 30;
  options.recent_rows = 0;
  options.topic_root = "st/v1";  // the agent's topic_prefix below
  agent::outbox::Outbox box(path, options);
  const auto base = SystemClock::instance().now() - std::chrono::hours{2};
  constexpr std::int64_t k_per_transaction = 10'000;
  std::vector<Sample> chunk;
  for (std::int64_t i = 0; i < samples;) {
    chunk.clear();
    for (std::int64_t j = 0; j < k_per_transaction && i < samples; ++j, ++i) {
      auto s = bench::realistic_sample(i, channels, base, std::chrono::milliseconds{5}, 400);
      s.agent = "bench";
      chunk.push_back(std::move(s));
    }
    if (!box.append(chunk)) throw std::runtime_error("bench: outbox append failed");
  }
}

// The oldest seq left in the agent's outbox (0 when empty), read beside the running agent
// through one read-only connection: one b-tree lookup (opening an Outbox per poll would run
// its integrity check, and count(*) would read the whole table, every time).
class OutboxFront {
 public:
  explicit OutboxFront(const std::filesystem::path& path)
      : m_db(path.string(), SQLite::OPEN_READONLY),
        m_front(m_db, "SELECT coalesce(min(seq), 0) FROM samples") {
    m_db.setBusyTimeout(5000);
  }
  std::int64_t operator()() {
    m_front.reset();
    m_front.executeStep();
    return m_front.getColumn(0).getInt64();
  }

 private:
  SQLite::Database m_db;
  SQLite::Statement m_front;
};

// Polls `pred` every 250 ms (a light load beside what is measured) until it holds or `timeout`.
bool poll_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = Steady::now() + timeout;
  while (!pred()) {
    if (Steady::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{250});
  }
  return true;
}

std::int64_t last_field(const std::string& log, const std::string& key) {
  std::smatch m;
  std::int64_t value = 0;
  const std::regex re(" " + key + "=([0-9]+)");
  for (auto it = log.cbegin(); std::regex_search(it, log.cend(), m, re); it = m.suffix().first) {
    value = std::stoll(m[1]);
  }
  return value;
}

}  // namespace

static int run_bench(int argc, char** argv) {
  const std::int64_t samples = argc > 1 ? std::atoll(argv[1]) : 1'000'000;
  const int channels = argc > 2 ? std::atoi(argv[2]) : 100;
  const std::string delivery = argc > 3 ? argv[3] : "committed";
  const std::string frame_samples = argc > 4 ? argv[4] : "1000";
  const std::string collector_max_rows = argc > 5 ? argv[5] : "5000";
  if (samples < 1 || channels < 1 || (delivery != "committed" && delivery != "broker")) {
    std::cerr << "usage: backlog_drain_bench [samples] [channels] [committed|broker] "
                 "[max_frame_samples] [collector_max_rows]\n";
    return 2;
  }
  PostgresServer pg;
  TempDir dir("streamtrack-bench-backlog");
  // No queue limit for the collector's session: the agent's window bounds what is in flight.
  const bench::Broker broker(dir.path());
  const std::string& url = broker.url;
  const auto dsn = pg.create_database("streamtrack");
  write_file(dir / "collector.toml",
             bench::collector_toml(url, dsn, "200ms",
                                   std::getenv("STREAMTRACK_BENCH_DEBUG")
                                       ? "log_level = \"debug\"\nlog_format = \"logfmt\"\n"
                                       : "",
                                   "", collector_max_rows));
  auto collector = bench::start_process(
      {binary("streamtrack-collector").string(), "-c", (dir / "collector.toml").string()},
      dir / "collector.log");
  if (!collector.wait_for_output("connected server=")) {
    std::cerr << "collector did not start:\n" << collector.output();
    return 1;
  }

  const auto state = dir / "state";
  std::filesystem::create_directories(state);
  const auto fill_start = Steady::now();
  fill_outbox(state / "outbox.db", samples, channels);
  const double fill_s = seconds_since(fill_start);

  // One synthetic round (one more sample, live) so that the agent has a source; the rest is
  // the backlog.
  write_file(
      dir / "agent.toml",
      "[agent]\nid = \"bench\"\nstate_dir = \"" + state.string() + "\"\nlog_level = \"" +
          (std::getenv("STREAMTRACK_BENCH_DEBUG") ? "debug\"\nlog_format = \"logfmt" : "info") +
          "\"\n[mqtt]\nurl = \"" + url + "\"\ntopic_prefix = \"st/v1\"\ndelivery = \"" + delivery +
          "\"\nmax_frame_samples = " + frame_samples +
          "\n[buffer]\nmax_rows = " + std::to_string(2 * samples + 1000) +
          "\nmax_bytes = " + std::to_string(std::int64_t{4} << 30) +
          "\n[http]\nlisten = \"\"\n[[source]]\ntype = \"synthetic\"\nname = \"live\"\n"
          "interval = \"1s\"\nchannels = 1\nchannel_prefix = \"live-\"\nrounds = 1\n");
  if (std::getenv("STREAMTRACK_BENCH_PAUSE")) {
    std::cout << "collector pid " << collector.pid() << std::endl;
  }
  const auto count_sql =
      "SELECT count(*) FROM livestream_metrics WHERE seq <= " + std::to_string(samples);
  const auto postmaster = bench::postmaster_pid(dsn);
  const double collector_cpu_before = bench::cpu_seconds(collector.pid());
  const double pg_cpu_before = bench::postgres_cpu_seconds(postmaster);
  const auto drain_start = Steady::now();
  auto agent = bench::start_process(
      {binary("streamtrack-agent").string(), "--config", (dir / "agent.toml").string()},
      dir / "agent.log");
  if (std::getenv("STREAMTRACK_BENCH_PAUSE")) {
    std::cout << "agent pid " << agent.pid() << std::endl;
  }
  // With delivery = committed a backlog gone from the outbox means every row committed; either
  // way the rows are counted only then (few queries on a growing table).
  // With delivery = committed, the backlog left the outbox once its last seq was acked.
  OutboxFront outbox_front(state / "outbox.db");
  if (!poll_until(
          [&] {
            const auto f = outbox_front();
            return f == 0 || f > samples;
          },
          std::chrono::minutes{30})) {
    std::cerr << "the backlog never left the outbox: oldest seq " << outbox_front() << "\n";
    return 1;
  }
  if (!poll_until([&] { return std::stoll(pg_scalar(dsn, count_sql)) >= samples; },
                  std::chrono::minutes{10})) {
    std::cerr << "only " << pg_scalar(dsn, count_sql) << " backlog rows committed\n";
    return 1;
  }
  const double drain_s = seconds_since(drain_start);
  // CPU of each process over the drain (the agent's from its start), per backlog row.
  const double agent_cpu = bench::cpu_seconds(agent.pid());
  const double collector_cpu = bench::cpu_seconds(collector.pid()) - collector_cpu_before;
  const double pg_cpu = bench::postgres_cpu_seconds(postmaster) - pg_cpu_before;
  agent.stop();
  const auto agent_log = agent.output();
  const auto distinct =
      std::stoll(pg_scalar(dsn, "SELECT count(DISTINCT seq) FROM livestream_metrics WHERE seq <= " +
                                    std::to_string(samples)));
  const auto stored = std::stoll(pg_scalar(dsn, count_sql));
  if (stored != samples || distinct != samples) {
    std::cerr << "rows " << stored << ", distinct seqs " << distinct << ", expected " << samples
              << " each\n";
    return 1;
  }

  // Baseline: the same rows, COPYed straight into the same (emptied) table, three times.
  PGconn* conn = PQconnectdb(dsn.c_str());
  const auto rows = bench::copy_out(conn, "COPY (SELECT * FROM livestream_metrics) TO STDOUT");
  const auto total_rows = std::stoll(pg_scalar(dsn, "SELECT count(*) FROM livestream_metrics"));
  const auto baseline = bench::copy_baseline(conn, "livestream_metrics", rows, postmaster, true);
  PQfinish(conn);
  if (std::stoll(pg_scalar(dsn, "SELECT count(*) FROM livestream_metrics")) != total_rows) {
    std::cerr << "baseline COPY stored another number of rows\n";
    return 1;
  }
  const double copy_s = baseline.median_seconds;

  const double drain_rate = static_cast<double>(samples) / drain_s;
  const double copy_rate = static_cast<double>(total_rows) / copy_s;
  const double ratio = drain_rate / copy_rate;
  std::printf(
      "backlog                      %lld samples, %d channels, delivery %s, "
      "max_frame_samples %s (outbox filled in %.1f s)\n",
      static_cast<long long>(samples), channels, delivery.c_str(), frame_samples.c_str(), fill_s);
  std::printf("agent sent                   %lld samples, %lld of them in %lld frames\n",
              static_cast<long long>(last_field(agent_log, "published")),
              static_cast<long long>(last_field(agent_log, "framed")),
              static_cast<long long>(last_field(agent_log, "frames")));
  std::printf("backlog -> committed rows    %10.0f rows/s (%.2f s), each seq once\n", drain_rate,
              drain_s);
  std::printf("raw COPY of the same rows    %10.0f rows/s (median of %s)\n", copy_rate,
              bench::run_seconds_text(baseline).c_str());
  const auto per_row_us = [&](double seconds) {
    return seconds * 1e6 / static_cast<double>(samples);
  };
  std::printf(
      "CPU per backlog row          agent %.1f us, collector %.1f us, PostgreSQL %.1f us "
      "(raw COPY: PostgreSQL %.1f us)\n",
      per_row_us(agent_cpu), per_row_us(collector_cpu), per_row_us(pg_cpu),
      baseline.median_pg_cpu_seconds * 1e6 / static_cast<double>(total_rows));
  std::printf(
      "goal backlog_drain: %s ratio %.2f (backlog drained into committed rows %.0f "
      "rows/s / raw COPY %.0f rows/s; goal >= 0.5)\n",
      ratio >= 0.5 ? "met" : "NOT met", ratio, drain_rate, copy_rate);
  collector.stop();
  if (const char* keep = std::getenv("STREAMTRACK_BENCH_LOGS")) {
    std::filesystem::create_directories(keep);
    for (const auto* name : {"agent.log", "collector.log", "mosquitto.log"}) {
      std::filesystem::copy_file(dir / name, std::filesystem::path(keep) / name,
                                 std::filesystem::copy_options::overwrite_existing);
    }
  }
  return 0;
}

int main(int argc, char** argv) {
  return streamtrack::guarded_main("backlog_drain_bench", [&] { return run_bench(argc, argv); });
}
