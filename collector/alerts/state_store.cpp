#include "collector/alerts/state_store.hpp"

#include <nlohmann/json.hpp>

#include "collector/store/pg_connection.hpp"

namespace streamtrack::collector::alerts {

namespace {

using nlohmann::json;

std::optional<std::string> ts(const std::optional<TimePoint>& t) {
  if (!t) return std::nullopt;
  return format_rfc3339(*t);
}

std::optional<TimePoint> parse_ts(const store::PgResult& r, int row, int col) {
  if (r.is_null(row, col)) return std::nullopt;
  return parse_rfc3339(r.text(row, col));
}

std::optional<std::string> number(const std::optional<double>& v) {
  if (!v || !std::isfinite(*v)) return std::nullopt;
  return json(*v).dump(-1, ' ', false, json::error_handler_t::replace);
}

class PgAlertStore final : public AlertStore {
 public:
  explicit PgAlertStore(store::ConnectOptions options);
  Result<bool> try_lead() override;
  Result<std::vector<Alert>> load() override;
  Result<bool> save(const std::vector<Alert>& changes, const std::string& collector) override;
  Result<std::int64_t> default_partition_rows() override;
  Result<std::int64_t> missing_partitions(TimePoint now) override;

 private:
  store::PgConnection& connection();
  std::string fail(const store::PgError& e);

  store::ConnectOptions m_options;
  std::unique_ptr<store::PgConnection> m_conn;
  bool m_locked = false;
};

PgAlertStore::PgAlertStore(store::ConnectOptions options) : m_options(std::move(options)) {}

store::PgConnection& PgAlertStore::connection() {
  if (!m_conn || !m_conn->healthy()) {
    m_conn.reset();
    m_locked = false;
    m_conn = std::make_unique<store::PgConnection>(m_options);
  }
  return *m_conn;
}

std::string PgAlertStore::fail(const store::PgError& e) {
  if (m_conn && !m_conn->healthy()) {
    m_conn.reset();
    m_locked = false;
  }
  return e.describe();
}

Result<bool> PgAlertStore::try_lead() {
  try {
    auto& c = connection();
    if (!m_locked) {
      m_locked = c.exec("SELECT pg_try_advisory_lock(" + std::to_string(k_notifier_lock) + ")")
                     .text(0, 0) == "t";
    } else {
      c.exec("SELECT 1");
    }
    return m_locked;
  } catch (const store::PgError& e) {
    return Result<bool>::failure(fail(e));
  }
}

Result<std::vector<Alert>> PgAlertStore::load() {
  try {
    const auto r = connection().exec(
        "SELECT rule, key_parts::text, state, severity, labels::text, summary, value, "
        "threshold, to_char(active_since AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
        "to_char(fired_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
        "to_char(last_notified_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
        "firing_sent, inhibited FROM alerts WHERE resolved_at IS NULL ORDER BY id");
    std::vector<Alert> out;
    for (int i = 0; i < r.rows(); ++i) {
      Alert a;
      a.rule = r.text(i, 0);
      const auto key = json::parse(r.text(i, 1), nullptr, false);
      if (key.is_array()) {
        for (const auto& k : key) {
          if (k.is_string()) a.key.push_back(k.get<std::string>());
        }
      }
      a.state = r.text(i, 2) == "firing" ? AlertState::firing : AlertState::pending;
      a.severity = r.text(i, 3);
      const auto labels = json::parse(r.text(i, 4), nullptr, false);
      if (labels.is_object()) {
        for (const auto& [k, v] : labels.items()) {
          if (v.is_string()) a.labels[k] = v.get<std::string>();
        }
      }
      a.summary = r.text(i, 5);
      if (!r.is_null(i, 6)) a.value = std::stod(r.text(i, 6));
      if (!r.is_null(i, 7)) a.threshold = std::stod(r.text(i, 7));
      a.active_since = parse_ts(r, i, 8).value_or(TimePoint{});
      a.fired_at = parse_ts(r, i, 9);
      a.last_notified = parse_ts(r, i, 10);
      a.firing_sent = r.text(i, 11) == "t";
      a.inhibited = r.text(i, 12) == "t";
      out.push_back(std::move(a));
    }
    return out;
  } catch (const store::PgError& e) {
    return Result<std::vector<Alert>>::failure(fail(e));
  }
}

Result<bool> PgAlertStore::save(const std::vector<Alert>& changes, const std::string& collector) {
  if (changes.empty()) return true;
  try {
    auto& c = connection();
    c.exec("BEGIN");
    try {
      for (const auto& a : changes) {
        const std::string id_key = alert_key_id(a.key);
        const store::Params where{a.rule, id_key};
        if (a.state == AlertState::resolved && !a.fired_at) {
          c.exec("DELETE FROM alerts WHERE rule = $1 AND alert_key = $2 AND resolved_at IS NULL",
                 where);
          continue;
        }
        const store::Params p{a.rule,
                              id_key,
                              json(a.key).dump(-1, ' ', false, json::error_handler_t::replace),
                              std::string(state_name(a.state)),
                              a.severity,
                              json(a.labels).dump(-1, ' ', false, json::error_handler_t::replace),
                              a.summary,
                              number(a.value),
                              number(a.threshold),
                              format_rfc3339(a.active_since),
                              ts(a.fired_at),
                              ts(a.resolved_at),
                              ts(a.last_notified),
                              a.firing_sent ? "t" : "f",
                              a.inhibited ? "t" : "f",
                              collector};
        const auto updated = c.exec(
            "UPDATE alerts SET key_parts = $3::jsonb, state = $4, severity = $5, "
            "labels = $6::jsonb, summary = $7, value = $8, threshold = $9, active_since = $10, "
            "fired_at = $11, resolved_at = $12, last_notified_at = $13, firing_sent = $14, "
            "inhibited = $15, collector = $16, updated_at = now() "
            "WHERE rule = $1 AND alert_key = $2 AND resolved_at IS NULL",
            p);
        if (updated.affected() == 0) {
          c.exec(
              "INSERT INTO alerts (rule, alert_key, key_parts, state, severity, labels, summary, "
              "value, threshold, active_since, fired_at, resolved_at, last_notified_at, "
              "firing_sent, inhibited, collector) VALUES ($1, $2, $3::jsonb, $4, $5, $6::jsonb, "
              "$7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
              p);
        }
      }
      c.exec("COMMIT");
    } catch (...) {
      if (c.healthy()) c.exec("ROLLBACK");
      throw;
    }
    return true;
  } catch (const store::PgError& e) {
    return Result<bool>::failure(fail(e));
  }
}

Result<std::int64_t> PgAlertStore::missing_partitions(TimePoint now) {
  try {
    return connection()
        .exec(R"sql(
SELECT count(*) FROM generate_series(date_trunc('month', $1::timestamptz AT TIME ZONE 'UTC'),
                                     date_trunc('month', $1::timestamptz AT TIME ZONE 'UTC')
                                       + interval '1 month',
                                     interval '1 month') AS m (month)
WHERE NOT EXISTS (
  SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
  WHERE i.inhparent = 'livestream_metrics'::regclass
    AND c.relname = 'livestream_metrics_y' || to_char(m.month, 'YYYY"m"MM'))
)sql",
              {format_rfc3339(now)})
        .integer(0, 0);
  } catch (const store::PgError& e) {
    return Result<std::int64_t>::failure(fail(e));
  }
}

Result<std::int64_t> PgAlertStore::default_partition_rows() {
  try {
    return connection()
        .exec("SELECT count(*) FROM (SELECT 1 FROM livestream_metrics_default LIMIT 100000) d")
        .integer(0, 0);
  } catch (const store::PgError& e) {
    return Result<std::int64_t>::failure(fail(e));
  }
}

}  // namespace

std::unique_ptr<AlertStore> open_pg_alert_store(const store::ConnectOptions& options) {
  return std::make_unique<PgAlertStore>(options);
}

}  // namespace streamtrack::collector::alerts
