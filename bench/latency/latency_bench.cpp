// Publish -> committed row latency through the real collector at a steady rate over 1,000
// channels: each sample carries its publish time as ts; the commit is seen through PostgreSQL's
// NOTIFY streamtrack_live (delivered at commit; it names the newest sample of each channel a
// batch moved, with its ts). Baseline in the same run: publish -> delivery to a plain MQTT
// subscriber of the same broker (what the broker alone adds).
//   latency_bench [samples/s=1000] [seconds=20] [max_delay_ms=200]
// max_delay is the collector's [batch] max_delay (its default, 200 ms). The collector commits in
// groups: rows are written at once while no other batch is being written, and wait (at most
// max_delay) only while one is, so the p99 follows the time of a write, not max_delay.
#include <libpq-fe.h>
#include <sys/select.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "bench/common/ingest_stack.hpp"
#include "common/mqtt/client.hpp"
#include "common/util/guarded_main.hpp"
#include "common/wire/codec.hpp"
#include "common/wire/topics.hpp"
#include "tests/support/harness.hpp"

using namespace streamtrack;
using namespace streamtrack::testing;
using Steady = std::chrono::steady_clock;

namespace {

struct Latencies {
  std::mutex mutex;
  std::vector<double> ms;
  void add(double v) {
    std::lock_guard lock(mutex);
    ms.push_back(v);
  }
  double percentile(double p) {
    std::lock_guard lock(mutex);
    if (ms.empty()) return -1;
    std::sort(ms.begin(), ms.end());
    return ms[std::min(ms.size() - 1,
                       static_cast<std::size_t>(p * static_cast<double>(ms.size())))];
  }
  std::size_t count() {
    std::lock_guard lock(mutex);
    return ms.size();
  }
};

double ms_since(TimePoint t) {
  return std::chrono::duration<double, std::milli>(SystemClock::instance().now() - t).count();
}

}  // namespace

static int run_bench(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const int rate = argc > 1 ? std::atoi(argv[1]) : 1000;
  const int seconds = argc > 2 ? std::atoi(argv[2]) : 20;
  const int max_delay_ms = argc > 3 ? std::atoi(argv[3]) : 200;
  PostgresServer pg;
  TempDir dir("streamtrack-latency");
  const bench::Broker broker(dir.path());
  const std::string& broker_url = broker.url;
  const auto dsn = pg.create_database("streamtrack");
  write_file(dir / "collector.toml",
             bench::collector_toml(broker_url, dsn, std::to_string(max_delay_ms) + "ms"));
  auto collector = bench::start_process(
      {(bin_dir() / "streamtrack-collector").string(), "-c", (dir / "collector.toml").string()},
      dir / "collector.log");
  if (!collector.wait_for_output("mqtt: connected")) {
    std::fprintf(stderr, "collector did not start:\n%s", collector.output().c_str());
    return 1;
  }
  // The migrations (and the trigger that notifies) are in once the collector is connected to
  // PostgreSQL; wait for the channel to exist before listening.
  if (!wait_until([&] {
        return pg_scalar(dsn, "SELECT count(*) FROM pg_proc WHERE proname LIKE '%live%'") != "0";
      })) {
    std::fprintf(stderr, "no live trigger\n");
    return 1;
  }

  Latencies committed;
  Latencies delivered;
  std::atomic<bool> stop{false};
  std::thread listener([&] {
    PGconn* conn = PQconnectdb(dsn.c_str());
    PQclear(PQexec(conn, "LISTEN streamtrack_live"));
    const int fd = PQsocket(conn);
    while (!stop) {
      fd_set set;
      FD_ZERO(&set);
      FD_SET(fd, &set);
      timeval tv{0, 100'000};
      ::select(fd + 1, &set, nullptr, nullptr, &tv);
      PQconsumeInput(conn);
      while (PGnotify* n = PQnotifies(conn)) {
        const auto items = nlohmann::json::parse(n->extra, nullptr, false);
        if (items.is_array()) {
          for (const auto& item : items) {
            if (!item.contains("t") || !item["t"].is_string()) continue;
            if (const auto t = parse_rfc3339(item["t"].get<std::string>())) {
              committed.add(ms_since(*t));
            }
          }
        }
        PQfreemem(n);
      }
    }
    PQfinish(conn);
  });

  config::MqttSettings settings;
  settings.url = broker_url;
  settings.host = "127.0.0.1";
  settings.port = broker.port;
  std::atomic<bool> up{false};
  mqtt::Client subscriber({.settings = settings,
                           .client_id = "bench-subscriber",
                           .clean_session = true,
                           .will = std::nullopt,
                           .max_inflight = 1000,
                           .subscriptions = {"st/v1/+/metrics/#"},
                           .subscription_qos = 1},
                          {.connected = {},
                           .disconnected = {},
                           .message =
                               [&](const mqtt::Message& m) {
                                 if (const auto s = wire::decode_sample(m.payload)) {
                                   delivered.add(ms_since(s->ts));
                                 }
                               },
                           .delivered = {}});
  subscriber.start();
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
  if (!wait_until([&] { return up.load() && subscriber.connected(); })) return 1;
  std::this_thread::sleep_for(std::chrono::seconds{1});

  const wire::Topics topics("st/v1");
  const int total = rate * seconds;
  const auto start = Steady::now();
  for (int i = 0; i < total; ++i) {
    std::this_thread::sleep_until(start + std::chrono::microseconds{1'000'000LL * i / rate});
    Sample s;
    const int channel = i % 1000;
    s.agent = "agent-" + std::to_string(channel % 5);
    s.seq = i / 5 + 1;
    s.ts = SystemClock::instance().now();
    s.platform = "nginx_rtmp";
    s.channel = "live/channel-" + std::to_string(channel);
    s.live = true;
    s.stream_id = "b" + std::to_string(channel);
    s.title = "Channel " + std::to_string(channel);
    s.viewers = i % 5000;
    s.chat_messages = i % 50;
    while (!publisher.publish(
        {topics.metrics(s.agent, s.platform, s.channel), wire::encode_sample(s), 1, false})) {
      std::this_thread::sleep_for(std::chrono::microseconds{100});
    }
  }
  const double sent_s = std::chrono::duration<double>(Steady::now() - start).count();
  wait_until([&] { return delivered.count() >= static_cast<std::size_t>(total); },
             std::chrono::seconds{30});
  std::this_thread::sleep_for(std::chrono::seconds{3});  // the last batches commit
  stop = true;
  listener.join();
  publisher.stop(std::chrono::seconds{2});
  subscriber.stop(std::chrono::seconds{2});

  const double p99 = committed.percentile(0.99);
  const double broker_p99 = delivered.percentile(0.99);
  std::printf("latency: %d samples at %d/s over 1,000 channels (published in %.1f s)\n", total,
              rate, sent_s);
  std::printf(
      "  publish -> committed row (NOTIFY at commit, newest sample per channel and "
      "batch): %zu seen, p50 %.1f ms, p99 %.1f ms\n",
      committed.count(), committed.percentile(0.5), p99);
  std::printf("  baseline publish -> MQTT subscriber: %zu seen, p50 %.1f ms, p99 %.1f ms\n",
              delivered.count(), delivered.percentile(0.5), broker_p99);
  std::printf(
      "goal latency: %s p99 %.0f ms publish -> committed row at %d samples/s, batch max_delay "
      "%d ms (goal <= 250 ms; broker alone p99 %.0f ms)\n",
      p99 >= 0 && p99 <= 250 ? "met" : "NOT met", p99, rate, max_delay_ms, broker_p99);
  collector.stop();
  return 0;
}

int main(int argc, char** argv) {
  return streamtrack::guarded_main("latency_bench", [&] { return run_bench(argc, argv); });
}
