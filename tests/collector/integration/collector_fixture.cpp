#include "tests/collector/integration/collector_fixture.hpp"

namespace streamtrack::collector::testing {

void CollectorTest::SetUp() {
  m_dsn = m_pg.create_database("streamtrack");
}

std::filesystem::path CollectorTest::write_config(const CollectorOptions& o) {
  std::string toml = "[collector]\nid = \"" + o.id + "\"\nlog_level = \"debug\"\n" +
                     "shutdown_timeout = \"5s\"\n"
                     "[mqtt]\nurl = \"" +
                     m_broker.url() + "\"\ntopic_prefix = \"st/v1\"\n" +
                     "reconnect_min = \"100ms\"\nreconnect_max = \"1s\"\n";
  if (!o.shared_group.empty()) toml += "shared_group = \"" + o.shared_group + "\"\n";
  toml += "[postgres]\ndsn = \"" + m_dsn + "\"\npool_size = " + std::to_string(o.pool_size) +
          "\nconnect_timeout = \"2s\"\n" + o.postgres_extra + "\n[batch]\nmax_delay = \"" +
          o.max_delay + "\"\n" + o.batch_extra + "\n[http]\nlisten = \"" + o.http_listen + "\"\n";
  if (!o.max_future.empty()) toml += "[ingest]\nmax_future = \"" + o.max_future + "\"\n";
  toml += o.extra + "\n";
  const auto path = m_dir / ("collector-" + o.id + ".toml");
  write_file(path, toml);
  return path;
}

std::unique_ptr<Process> CollectorTest::start_collector(const CollectorOptions& o) {
  Process::Options p;
  p.argv = {(bin_dir() / "streamtrack-collector").string(), "-c", write_config(o).string()};
  p.env = o.env;
  p.log_file = m_dir / ("collector-" + o.id + ".log");
  auto proc = std::make_unique<Process>(p);
  if (o.wait_connected) {
    EXPECT_TRUE(proc->wait_for_output("mqtt: subscribed")) << proc->output();
  }
  return proc;
}

void CollectorTest::expect_count(const std::string& sql, std::int64_t expected) const {
  std::int64_t last = -1;
  const bool ok = wait_until([&] {
    try {
      last = count(sql);
    } catch (const std::exception&) {
      return false;
    }
    return last == expected;
  });
  EXPECT_TRUE(ok) << sql << ": expected " << expected << ", last saw " << last;
}

std::multiset<std::int64_t> CollectorTest::acked(const MqttProbe& probe, const std::string& agent) {
  std::multiset<std::int64_t> seqs;
  for (const auto& m : probe.messages()) {
    if (m.topic != k_topics.ack(agent)) continue;
    const auto ack = wire::decode_ack(m.payload);
    if (!ack) continue;
    for (const auto& [first, last] : ack->ranges) {
      for (auto s = first; s <= last; ++s) seqs.insert(s);
    }
  }
  return seqs;
}

Sample make_sample(const std::string& agent, std::int64_t seq, const std::string& ts,
                   const std::string& channel, bool live, std::optional<std::string> stream_id) {
  Sample s;
  s.agent = agent;
  s.seq = seq;
  s.ts = *parse_rfc3339(ts);
  s.platform = "nginx_rtmp";
  s.channel = channel;
  s.live = live;
  if (live) {
    s.viewers = seq % 50;
    s.bitrate_kbps = 2000.0 + static_cast<double>(seq);
    s.chat_messages = seq % 7;
    s.chatters = seq % 3;
  }
  s.stream_id = std::move(stream_id);
  return s;
}

void publish(MqttProbe& probe, const Sample& s) {
  probe.publish(k_topics.metrics(s.agent, s.platform, s.channel), wire::encode_sample(s));
}

}  // namespace streamtrack::collector::testing
