#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "collector/store/pg_connection.hpp"
#include "collector/store/reject_rows.hpp"
#include "collector/store/store.hpp"

namespace streamtrack::collector::store {

// The scope of a channel name: "" for a platform whose channel names are global (Twitch,
// YouTube, Kick), else the agent, since a self-hosted server's stream name ("live/main") is
// only meaningful on the server that agent watches. A view of `agent`, or empty.
std::string_view channel_scope(std::string_view platform, std::string_view agent);

// The PostgreSQL Store: one connection, opened lazily and reopened after a failure.
// Not thread-safe: each batch writer owns one.
class PgStore final : public Store {
 public:
  PgStore(ConnectOptions options, std::chrono::milliseconds session_timeout);

  // See Store::write. A batch of samples costs a fixed number of round trips whatever its
  // channels: new channels in one INSERT (ids cached once committed), every session step in one
  // call (sessions::apply_steps: samples resolved to sessions in time order per channel, channels
  // in (platform, scope, name) order, so two writers lock rows alike and never deadlock), then
  // one call of streamtrack_store_metrics (migration 11's) that sends the rows as arrays (numbers
  // and times in binary), with each channel's newest row, stores those not stored yet, leaves
  // the aggregates of the rows it stored, per hour, for the analytics refresh and moves
  // channel_current: by a plain INSERT, or, when a row was stored already (a resend), by
  // INSERT ... ON CONFLICT DO NOTHING, also for the next k_on_conflict_batches_after_a_resend
  // batches (a resend rarely comes alone, and each costs the plain attempt in vain). Offline
  // samples close sessions and add no metrics row. Rejects cost one more statement, whatever their
  // number (a frame of 1,000 bad elements too), or one per k_max_reject_statement_bytes of them.
  WriteOutcome write(const std::vector<ingest::Item>& batch) override;

 private:
  void ensure_connected();
  // The batch's rejects as arrays in INSERT ... ON CONFLICT DO NOTHING statements, as
  // plan_reject_statements() groups and orders them.
  void write_rejects(const std::vector<ingest::Item>& batch);
  void write_agents(const std::vector<ingest::Item>& batch);
  void write_samples(const std::vector<ingest::Item>& batch);
  // (platform, scope, name): the identity of a row of channels.
  using ChannelKey = std::tuple<std::string, std::string, std::string>;
  // Finds or creates the channels of `keys` not yet known, in one statement, in the order given.
  void resolve_channels(const std::vector<ChannelKey>& keys);
  // The id of a channel resolve_channels() saw in this batch or an earlier committed one.
  std::int64_t channel_id(const ChannelKey& key) const;

  // Batches that go straight to ON CONFLICT DO NOTHING after one that met a resent row.
  static constexpr int k_on_conflict_batches_after_a_resend = 16;

  ConnectOptions m_options;
  std::chrono::milliseconds m_session_timeout;
  std::unique_ptr<PgConnection> m_conn;
  std::map<ChannelKey, std::int64_t> m_channels;  // committed only
  std::map<ChannelKey, std::int64_t> m_new_channels;
  int m_on_conflict_batches = 0;  // left of k_on_conflict_batches_after_a_resend
};

}  // namespace streamtrack::collector::store
