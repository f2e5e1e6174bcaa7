#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

// The fault suite's audit: what an agent says it gave out, against the rows in PostgreSQL.
namespace streamtrack::faults {

// What the agent's own records say, gathered by the runner over the whole scenario.
struct AgentRecord {
  std::string agent;
  std::string delivery;  // "committed" or "broker"
  std::int64_t last_seq = 0;
  // Seqs never given out: (first, last] between what a killed run had stored and what it
  // had reserved ahead (the restart continues above the reservation).
  std::vector<std::pair<std::int64_t, std::int64_t>> crash_gaps;
  std::int64_t dropped = 0;           // the agent's drop counter (outbox stats "dropped")
  std::int64_t quarantined = 0;       // rows moved to dead letters
  std::vector<std::int64_t> pending;  // seqs still in the outbox (outbox export)
};

struct AuditLine {
  std::string scenario;
  std::string agent;
  std::string delivery;
  std::int64_t assigned = 0;    // seqs 1..last_seq minus crash gaps
  std::int64_t stored = 0;      // distinct assigned seqs with a row
  std::int64_t pending = 0;     // assigned, not stored, still in the outbox
  std::int64_t absent = 0;      // assigned, neither stored nor pending
  std::int64_t dropped = 0;     // the agent's counter
  std::int64_t missing = 0;     // absent - dropped: must be 0
  std::int64_t duplicated = 0;  // extra rows for one seq
  std::int64_t phantom = 0;     // rows whose seq the agent never gave out
  std::int64_t quarantined = 0;
  std::int64_t crash_gaps = 0;
  // The first few runs of absent seqs, "12-40,77" (empty when none).
  std::string absent_seqs;
  // Why a loss is outside the promise of this agent's delivery mode in this scenario (for
  // delivery = "broker": a collector lost what it held in memory, or Mosquitto restarted and
  // dropped what came before the shared subscriptions were renewed); empty: no loss allowed.
  // A loss is then reported with this note, not failed.
  std::string loss_allowed;
  bool ok() const;
  std::string text() const;  // one line: "faults: scenario=... agent=... missing=0 ..."
};

// `rows`: seq -> number of rows in livestream_metrics for this agent.
AuditLine audit(const std::string& scenario, const AgentRecord& record,
                const std::map<std::int64_t, std::int64_t>& rows,
                const std::string& loss_allowed = {});

}  // namespace streamtrack::faults
