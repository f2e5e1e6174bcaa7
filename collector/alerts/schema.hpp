#pragma once

// The `alerts` table, applied as a collector schema migration: one row per alert episode.
// Open rows (resolved_at IS NULL) are the current state a restarted collector resumes from;
// resolved rows are the history.
namespace streamtrack::collector::alerts {

inline constexpr const char* k_alerts_schema_sql = R"sql(
CREATE TABLE alerts (
  id               bigserial PRIMARY KEY,
  rule             text NOT NULL,
  alert_key        text NOT NULL,
  key_parts        jsonb NOT NULL,
  state            text NOT NULL CHECK (state IN ('pending', 'firing', 'resolved')),
  severity         text NOT NULL,
  labels           jsonb NOT NULL,
  summary          text NOT NULL DEFAULT '',
  value            double precision,
  threshold        double precision,
  active_since     timestamptz NOT NULL,
  fired_at         timestamptz,
  resolved_at      timestamptz,
  last_notified_at timestamptz,
  firing_sent      boolean NOT NULL DEFAULT false,
  inhibited        boolean NOT NULL DEFAULT false,
  collector        text NOT NULL,
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX alerts_open_idx ON alerts (rule, alert_key) WHERE resolved_at IS NULL;
CREATE INDEX alerts_active_since_idx ON alerts (active_since);
)sql";

}  // namespace streamtrack::collector::alerts
