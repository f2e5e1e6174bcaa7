// Two agent figures, each against a baseline measured in the same run:
//  1. drain rate of a 100,000-sample outbox backlog to a local Mosquitto (samples/s), against
//     the same payloads published straight from memory through the same MQTT client and window;
//  2. resident memory (VmRSS) of streamtrack-agent polling 100 sources, against the same agent
//     polling 1 source.

#include <csignal>
#include <fstream>
#include <iostream>
#include <mutex>

#include "agent/outbox/outbox.hpp"
#include "agent/publish/publisher.hpp"
#include "common/mqtt/client.hpp"
#include "common/util/guarded_main.hpp"
#include "common/wire/topics.hpp"
#include "tests/support/harness.hpp"

namespace {

using namespace streamtrack;
using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

constexpr std::int64_t k_samples = 100'000;
constexpr int k_window = 256;

struct Outcomes {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<std::pair<std::uint64_t, bool>> items;
  void push(std::uint64_t id, bool ok) {
    {
      std::lock_guard lock(mutex);
      items.emplace_back(id, ok);
    }
    cv.notify_one();
  }
  std::vector<std::pair<std::uint64_t, bool>> wait() {
    std::unique_lock lock(mutex);
    cv.wait_for(lock, 100ms, [this] { return !items.empty(); });
    return std::exchange(items, {});
  }
};

std::unique_ptr<mqtt::Client> connect(const std::string& url, Outcomes& outcomes) {
  mqtt::ClientOptions o;
  o.settings.url = url;
  o.settings.host = "127.0.0.1";
  o.settings.port = static_cast<std::uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
  o.client_id = "bench-" + std::to_string(::getpid()) + "-" +
                std::to_string(Steady::now().time_since_epoch().count());
  o.max_inflight = k_window;
  mqtt::Handlers h;
  h.delivered = [&outcomes](std::uint64_t id, bool ok, const std::string&) {
    outcomes.push(id, ok);
  };
  auto c = std::make_unique<mqtt::Client>(o, h);
  c->start();
  const auto deadline = Steady::now() + 60s;
  while (!c->connected() && Steady::now() < deadline) std::this_thread::sleep_for(10ms);
  if (!c->connected()) throw std::runtime_error("bench: cannot connect to " + url);
  return c;
}

std::vector<Sample> make_samples(std::int64_t n) {
  std::vector<Sample> out;
  for (std::int64_t i = 0; i < n; ++i) {
    Sample s;
    s.agent = "bench";
    s.platform = "nginx_rtmp";
    s.channel = "live/ch" + std::to_string(i % 100);
    s.live = true;
    s.viewers = i % 1000;
    s.bitrate_kbps = 2480.5;
    s.fps = 30;
    s.ts = SystemClock::instance().now();
    out.push_back(std::move(s));
  }
  return out;
}

class Rows final : public agent::publish::RowSource {
 public:
  explicit Rows(agent::outbox::Outbox& o) : m_o(o) {}
  Result<std::vector<agent::outbox::Row>> read(std::int64_t f, std::int64_t b,
                                               std::size_t l) override {
    return m_o.read(f, b, l);
  }
  std::int64_t last_seq() const override { return m_o.last_seq(); }
  bool quarantine(std::int64_t seq, const std::string& reason) override {
    return m_o.quarantine(seq, reason);
  }

 private:
  agent::outbox::Outbox& m_o;
};

class Transport final : public agent::publish::Transport {
 public:
  explicit Transport(mqtt::Client& c) : m_c(c) {}
  mqtt::PublishResult publish(const mqtt::Message& m) override { return m_c.publish_checked(m); }

 private:
  mqtt::Client& m_c;
};

double drain_outbox(const std::string& url, const std::filesystem::path& dir) {
  agent::outbox::Options options;
  agent::outbox::Outbox box(dir / "outbox.db", options);
  auto samples = make_samples(k_samples);
  for (std::size_t i = 0; i < samples.size(); i += 100) {
    std::vector<Sample> round(samples.begin() + static_cast<std::ptrdiff_t>(i),
                              samples.begin() + static_cast<std::ptrdiff_t>(i + 100));
    if (!box.append(round)) throw std::runtime_error("bench: append failed");
  }
  Outcomes outcomes;
  auto client = connect(url, outcomes);
  Rows rows(box);
  Transport transport(*client);
  agent::publish::Options po;
  po.max_inflight = k_window;
  po.delivery = agent::Delivery::broker;
  agent::publish::Publisher pub(po, rows, transport);
  pub.on_connected();
  const auto start = Steady::now();
  while (box.depth() > 0) {
    pub.pump(Steady::now(), true);
    for (const auto& [id, ok] : outcomes.wait()) pub.on_delivered(id, ok, Steady::now());
    if (!box.remove(pub.take_done())) throw std::runtime_error("bench: remove failed");
  }
  const double s = std::chrono::duration<double>(Steady::now() - start).count();
  client->stop(1s);
  return static_cast<double>(k_samples) / s;
}

double raw_publish(const std::string& url) {
  std::vector<std::string> payloads;
  const wire::Topics topics;
  std::vector<std::string> topic_of;
  std::int64_t seq = 0;
  for (auto& s : make_samples(k_samples)) {
    s.seq = ++seq;
    payloads.push_back(wire::encode_sample(s));
    topic_of.push_back(topics.metrics(s.agent, s.platform, s.channel));
  }
  Outcomes outcomes;
  auto client = connect(url, outcomes);
  const auto start = Steady::now();
  std::size_t next = 0;
  std::size_t done = 0;
  std::size_t inflight = 0;
  while (done < payloads.size()) {
    while (inflight < k_window && next < payloads.size()) {
      if (!client->publish({topic_of[next], payloads[next], 1, false})) break;
      ++next;
      ++inflight;
    }
    for (const auto& [id, ok] : outcomes.wait()) {
      --inflight;
      if (ok)
        ++done;
      else
        throw std::runtime_error("bench: publish failed");
    }
  }
  const double s = std::chrono::duration<double>(Steady::now() - start).count();
  client->stop(1s);
  return static_cast<double>(k_samples) / s;
}

long vm_rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

long agent_rss(const std::string& url, int sources) {
  testing::HttpFixtureServer http;
  testing::TempDir dir("outbox-drain-bench");
  std::string toml = "[agent]\nid = \"mem\"\nstate_dir = \"" + (dir / "state").string() +
                     "\"\nlog_level = \"warning\"\n[mqtt]\nurl = \"" + url +
                     "\"\n[http]\nlisten = \"\"\n";
  for (int i = 0; i < sources; ++i) {
    const std::string path = "/s" + std::to_string(i);
    testing::HttpFixtureServer::Response r;
    r.body = "{\"online\":true,\"viewers\":" + std::to_string(i) + "}";
    http.route(path, r);
    toml += "[[source]]\ntype = \"http_json\"\nname = \"s" + std::to_string(i) + "\"\nurl = \"" +
            http.url(path) +
            "\"\ninterval = \"1s\"\n[source.fields]\nlive = \"/online\"\n"
            "viewers = \"/viewers\"\n";
  }
  testing::write_file(dir / "agent.toml", toml);
  testing::Process::Options o;
  o.argv = {STREAMTRACK_AGENT_BIN, "--config", (dir / "agent.toml").string()};
  testing::Process agent(o);
  // Ten rounds of polls (each source polled ten times), then read the resident set.
  testing::wait_until([&] { return http.request_count("/s0") >= 10; });
  long rss = vm_rss_kib(agent.pid());
  agent.stop();
  return rss;
}

int run_bench() {
  testing::MosquittoServer broker;
  testing::TempDir dir("outbox-drain-bench");
  std::cout << "outbox_drain: " << k_samples << " samples (~"
            << wire::encode_sample(make_samples(1)[0]).size() << " B each), QoS 1, window "
            << k_window << ", local Mosquitto\n";
  const double raw = raw_publish(broker.url());
  const double drained = drain_outbox(broker.url(), dir.path());
  std::cout << "  baseline: same payloads from memory through mqtt::Client, same window: "
            << static_cast<long>(raw) << " samples/s\n"
            << "  agent:    100,000-sample SQLite outbox backlog drained by the Publisher "
               "(read, publish, delete on PUBACK): "
            << static_cast<long>(drained) << " samples/s\n"
            << "  ratio agent/baseline: " << drained / raw << "\n";

  const long one = agent_rss(broker.url(), 1);
  const long hundred = agent_rss(broker.url(), 100);
  std::cout << "agent_memory: streamtrack-agent VmRSS (/proc/<pid>/status) after every source "
               "was polled 10 times at 1s intervals, publishing to a local Mosquitto\n"
            << "  baseline (1 source):  " << one << " KiB\n"
            << "  100 sources:          " << hundred << " KiB\n"
            << "  ratio 100/1: " << static_cast<double>(hundred) / static_cast<double>(one) << "\n";
  return 0;
}

}  // namespace

int main() {
  return streamtrack::guarded_main("outbox_drain", [&] { return run_bench(); });
}
