// What the read side costs the collector: a batch INSERT into livestream_metrics with the
// schema's statement trigger (channel_current update + NOTIFY streamtrack_live) against the
// same INSERT with that trigger disabled, measured in the same run on the same data.
//   web_trigger_bench [batches=40] [rows_per_batch=5000] [channels_per_batch=500]
// 5000 rows is the collector's default batch.max_rows.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/web/web_bench_support.hpp"

using namespace streamtrack;
using namespace streamtrack::bench;

int main(int argc, char** argv) {
  const int batches = argc > 1 ? std::atoi(argv[1]) : 40;
  const int rows = argc > 2 ? std::atoi(argv[2]) : 5000;
  const int channels = argc > 3 ? std::atoi(argv[3]) : 500;
  PostgresServer pg;
  const auto dsn = pg.create_database("streamtrack");
  prepare_schema(dsn);
  pg_query(dsn,
           "INSERT INTO channels (platform, name) SELECT 'owncast', 'c' || g FROM "
           "generate_series(1, " +
               std::to_string(channels) + ") g");
  pg_query(dsn,
           "INSERT INTO livestreams (channel_id, session_key, started_at, last_sample_at) "
           "SELECT id, 'bench', now(), now() FROM channels");
  collector::store::ConnectOptions o;
  o.dsn = dsn;
  collector::store::PgConnection conn(o);
  conn.exec("LISTEN streamtrack_live");  // a listener, as the web daemon is
  const int per_channel = std::max(1, rows / channels);
  long long seq = 0;
  long long step = 0;
  const auto batch = [&] {
    const auto sql =
        "INSERT INTO livestream_metrics (livestream_id, \"timestamp\", viewer_count, "
        "chat_messages, bitrate_kbps, agent_id, seq) SELECT l, now() + (" +
        std::to_string(step) +
        " + s) * interval '10 milliseconds', s, 1, 2500, "
        "'bench', " +
        std::to_string(seq) +
        " + l * 100000 + s FROM "
        "generate_series(1, " +
        std::to_string(channels) + ") l, generate_series(1, " + std::to_string(per_channel) + ") s";
    step += per_channel + 1;
    seq += 1;
    const auto start = Steady::now();
    conn.exec(sql);
    return seconds_since(start) * 1000.0;
  };
  const auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  std::vector<double> with_trigger;
  std::vector<double> without;
  for (int i = 0; i < 3; ++i) batch();  // warm-up
  // Interleaved, so drift in the machine's load hits both alike.
  for (int i = 0; i < batches; ++i) {
    conn.exec("ALTER TABLE livestream_metrics DISABLE TRIGGER livestream_metrics_committed");
    without.push_back(batch());
    conn.exec("ALTER TABLE livestream_metrics ENABLE TRIGGER livestream_metrics_committed");
    with_trigger.push_back(batch());
  }
  const auto a = median(with_trigger);
  const auto b = median(without);
  std::printf(
      "batch of %d rows over %d channels: %.2f ms with the read-side trigger, %.2f ms "
      "without (ratio %.2f, +%.2f ms per batch, %d NOTIFYs of at most 40 channels)\n",
      per_channel * channels, channels, a, b, a / b, a - b, (channels + 39) / 40);
  return 0;
}
