// 1,000 concurrent SSE clients on one streamtrack-web: memory per client, threads, and that
// every client gets every committed update. Baselines from the same run: the daemon's RSS and
// thread count with no client, and the delivery time of an update to a single client.
//   web_sse_bench [clients=1000] [updates=20]
// Updates are committed by INSERTs into livestream_metrics (each fires the schema's NOTIFY
// trigger, exactly as a collector batch does). One thread reads every client with epoll.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "bench/web/web_bench_support.hpp"
#include "common/util/guarded_main.hpp"

using namespace streamtrack;
using namespace streamtrack::bench;

namespace {

struct Client {
  int fd = -1;
  std::string buffer;
  int samples = 0;          // "event: sample" frames seen
  bool subscribed = false;  // the server's first frame ("retry:") arrived
};

int connect_sse(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
  }
  const std::string req =
      "GET /api/v1/live HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    throw std::runtime_error("send failed");
  }
  return fd;
}

// Reads whatever is ready on any client for up to `ms`; counts complete sample frames.
void pump(int ep, std::vector<Client>& clients, int ms) {
  epoll_event events[256];
  const int n = ::epoll_wait(ep, events, 256, ms);
  char buf[65536];
  for (int i = 0; i < n; ++i) {
    auto& c = clients[events[i].data.u32];
    while (true) {
      const auto r = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
      if (r <= 0) break;
      c.buffer.append(buf, static_cast<std::size_t>(r));
    }
    std::size_t pos;
    while ((pos = c.buffer.find("\n\n")) != std::string::npos) {
      if (c.buffer.substr(0, pos).find("retry: ") != std::string::npos) c.subscribed = true;
      if (c.buffer.compare(0, pos, "event: sample") == 0 ||
          c.buffer.substr(0, pos).find("\nevent: sample\n") != std::string::npos) {
        ++c.samples;
      }
      c.buffer.erase(0, pos + 2);
    }
  }
}

bool all_have(const std::vector<Client>& clients, int n) {
  for (const auto& c : clients) {
    if (c.samples < n) return false;
  }
  return true;
}

int run_bench(int argc, char** argv) {
  const int n_clients = argc > 1 ? std::atoi(argv[1]) : 1000;
  const int updates = argc > 2 ? std::atoi(argv[2]) : 20;
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);  // for us and the daemon we start

  PostgresServer pg;
  TempDir dir("streamtrack-sse-bench");
  const auto dsn = pg.create_database("streamtrack");
  prepare_schema(dsn);
  pg_query(dsn, "INSERT INTO channels (platform, name) VALUES ('owncast', 'bench')");
  pg_query(dsn,
           "INSERT INTO livestreams (channel_id, session_key, started_at, last_sample_at) "
           "VALUES (1, 'bench', now(), now())");
  auto web = start_web(dir, dsn, "[live]\nmax_clients = 100000\n");
  const auto pid = web.process->pid();
  long long seq = 0;
  const auto commit_one = [&] {
    ++seq;
    pg_query(dsn,
             "INSERT INTO livestream_metrics (livestream_id, \"timestamp\", viewer_count, "
             "agent_id, seq) VALUES (1, now() + interval '" +
                 std::to_string(seq) + " milliseconds', " + std::to_string(seq) + ", 'bench', " +
                 std::to_string(seq) + ")");
  };

  // Baseline: one client.
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  std::vector<Client> one(1);
  one[0].fd = connect_sse(web.port);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u32 = 0;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, one[0].fd, &ev);
  const auto settle = [&](std::vector<Client>& cs, int n, double limit_s) {
    const auto start = Steady::now();
    while (!all_have(cs, n) && seconds_since(start) < limit_s) pump(ep, cs, 50);
    return all_have(cs, n);
  };
  pump(ep, one, 200);
  const auto rss_idle = proc_status(pid, "VmRSS");
  const auto threads_idle = proc_status(pid, "Threads");
  double single_ms = 0;
  for (int i = 0; i < 5; ++i) {
    commit_one();
    const auto start = Steady::now();
    if (!settle(one, i + 1, 30)) throw std::runtime_error("single client missed an update");
    single_ms += seconds_since(start) * 1000.0 / 5;
  }
  ::epoll_ctl(ep, EPOLL_CTL_DEL, one[0].fd, nullptr);
  ::close(one[0].fd);

  // Many clients.
  std::vector<Client> clients(static_cast<std::size_t>(n_clients));
  for (int i = 0; i < n_clients; ++i) {
    clients[static_cast<std::size_t>(i)].fd = connect_sse(web.port);
    ev.data.u32 = static_cast<std::uint32_t>(i);
    ::epoll_ctl(ep, EPOLL_CTL_ADD, clients[static_cast<std::size_t>(i)].fd, &ev);
  }
  // The server subscribes a client before it sends the first frame.
  const auto connect_start = Steady::now();
  const auto all_subscribed = [&] {
    for (const auto& c : clients) {
      if (!c.subscribed) return false;
    }
    return true;
  };
  while (!all_subscribed() && seconds_since(connect_start) < 120) pump(ep, clients, 50);
  if (!all_subscribed()) throw std::runtime_error("not every client got subscribed");
  const double connect_s = seconds_since(connect_start);
  const auto rss_busy = proc_status(pid, "VmRSS");
  const auto threads_busy = proc_status(pid, "Threads");

  std::vector<double> fanout_ms;
  for (int i = 0; i < updates; ++i) {
    commit_one();
    const auto start = Steady::now();
    if (!settle(clients, i + 1, 60)) break;
    fanout_ms.push_back(seconds_since(start) * 1000.0);
  }
  int complete = 0;
  long long received = 0;
  for (const auto& c : clients) {
    complete += c.samples == updates ? 1 : 0;
    received += c.samples;
  }
  std::sort(fanout_ms.begin(), fanout_ms.end());
  const double fanout_p50 = fanout_ms.empty() ? 0 : fanout_ms[fanout_ms.size() / 2];
  const double fanout_max = fanout_ms.empty() ? 0 : fanout_ms.back();

  std::printf("clients connected and subscribed: %d in %.2f s\n", n_clients, connect_s);
  std::printf("RSS: %lld kB idle (1 client) -> %lld kB with %d clients: %.1f kB per client\n",
              static_cast<long long>(rss_idle), static_cast<long long>(rss_busy), n_clients,
              static_cast<double>(rss_busy - rss_idle) / n_clients);
  std::printf("threads: %lld idle -> %lld with %d clients (ratio %.2f)\n",
              static_cast<long long>(threads_idle), static_cast<long long>(threads_busy), n_clients,
              static_cast<double>(threads_busy) / static_cast<double>(threads_idle));
  std::printf("updates: %d committed; %d of %d clients got every one (%lld of %lld events)\n",
              updates, complete, n_clients, received, static_cast<long long>(updates) * n_clients);
  std::printf(
      "delivery, commit to the last client: p50 %.1f ms, max %.1f ms; to a single "
      "client %.1f ms (ratio p50 %.1f)\n",
      fanout_p50, fanout_max, single_ms, fanout_p50 / std::max(0.001, single_ms));
  for (auto& c : clients) ::close(c.fd);
  ::close(ep);
  web.process->stop();
  return complete == n_clients ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  return streamtrack::guarded_main("web_sse_bench", [&] { return run_bench(argc, argv); });
}
