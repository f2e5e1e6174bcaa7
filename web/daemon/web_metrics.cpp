#include "web/daemon/web_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <mutex>
#include <sstream>

namespace streamtrack::web {

namespace pm = prometheus;

struct WebMetrics::Impl {
  std::shared_ptr<pm::Registry> registry = std::make_shared<pm::Registry>();
  pm::Family<pm::Counter>* requests = nullptr;
  pm::Family<pm::Histogram>* durations = nullptr;
  pm::Counter* live_events = nullptr;
  pm::Gauge* live_clients = nullptr;
  pm::Gauge* connections = nullptr;
  pm::Family<pm::Gauge>* pool = nullptr;
  pm::Gauge* stats_computations = nullptr;
  pm::Gauge* slow_dropped = nullptr;
  pm::Gauge* listener = nullptr;
  pm::Gauge* database = nullptr;
  std::mutex mutex;
  std::function<Gauges()> source;
};

WebMetrics::WebMetrics() : m_impl(std::make_unique<Impl>()) {
  auto& r = *m_impl->registry;
  m_impl->requests = &pm::BuildCounter()
                          .Name("streamtrack_web_requests_total")
                          .Help("HTTP requests answered, by route and status code")
                          .Register(r);
  m_impl->durations = &pm::BuildHistogram()
                           .Name("streamtrack_web_request_duration_seconds")
                           .Help("Time from request to reply, by route")
                           .Register(r);
  m_impl->live_events = &pm::BuildCounter()
                             .Name("streamtrack_web_live_events_total")
                             .Help("Committed updates announced to live clients")
                             .Register(r)
                             .Add({});
  m_impl->live_clients = &pm::BuildGauge()
                              .Name("streamtrack_web_live_clients")
                              .Help("Open live (SSE) connections")
                              .Register(r)
                              .Add({});
  m_impl->connections = &pm::BuildGauge()
                             .Name("streamtrack_web_connections")
                             .Help("Open HTTP connections")
                             .Register(r)
                             .Add({});
  m_impl->pool = &pm::BuildGauge()
                      .Name("streamtrack_web_postgres_connections")
                      .Help("Pooled PostgreSQL connections by state (idle, busy)")
                      .Register(r);
  m_impl->stats_computations = &pm::BuildGauge()
                                    .Name("streamtrack_web_stats_computations")
                                    .Help("Times the stats overview was computed since start")
                                    .Register(r)
                                    .Add({});
  m_impl->slow_dropped = &pm::BuildGauge()
                              .Name("streamtrack_web_slow_clients_dropped")
                              .Help("Live clients disconnected for falling behind, since start")
                              .Register(r)
                              .Add({});
  m_impl->listener = &pm::BuildGauge()
                          .Name("streamtrack_web_live_listener_connected")
                          .Help("1 while the LISTEN connection for committed updates is up")
                          .Register(r)
                          .Add({});
  m_impl->database = &pm::BuildGauge()
                          .Name("streamtrack_web_database_up")
                          .Help("1 when the last database check succeeded")
                          .Register(r)
                          .Add({});
}

WebMetrics::~WebMetrics() = default;

void WebMetrics::request_done(std::string_view route, int status,
                              std::chrono::duration<double> took) {
  const std::string r(route);
  m_impl->requests->Add({{"route", r}, {"code", std::to_string(status)}}).Increment();
  static const pm::Histogram::BucketBoundaries k_buckets{
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  m_impl->durations->Add({{"route", r}}, k_buckets).Observe(took.count());
}

void WebMetrics::count_live_events(std::int64_t n) {
  m_impl->live_events->Increment(static_cast<double>(n));
}

void WebMetrics::set_gauge_source(std::function<Gauges()> source) {
  std::lock_guard lock(m_impl->mutex);
  m_impl->source = std::move(source);
}

std::string WebMetrics::render() const {
  {
    std::lock_guard lock(m_impl->mutex);
    if (m_impl->source) {
      const auto g = m_impl->source();
      m_impl->live_clients->Set(static_cast<double>(g.live_clients));
      m_impl->connections->Set(static_cast<double>(g.connections));
      m_impl->pool->Add({{"state", "idle"}}).Set(static_cast<double>(g.pool_idle));
      m_impl->pool->Add({{"state", "busy"}}).Set(static_cast<double>(g.pool_busy));
      m_impl->stats_computations->Set(static_cast<double>(g.stats_computations));
      m_impl->slow_dropped->Set(static_cast<double>(g.slow_clients_dropped));
      m_impl->listener->Set(g.listener_connected ? 1 : 0);
      m_impl->database->Set(g.database_up ? 1 : 0);
    }
  }
  std::ostringstream out;
  pm::TextSerializer().Serialize(out, m_impl->registry->Collect());
  return m_base.render() + out.str();
}

}  // namespace streamtrack::web
