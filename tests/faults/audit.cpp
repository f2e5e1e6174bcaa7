#include "tests/faults/audit.hpp"

#include <set>

namespace streamtrack::faults {

namespace {

bool in_crash_gap(const AgentRecord& r, std::int64_t seq) {
  for (const auto& [after, through] : r.crash_gaps) {
    if (seq > after && seq <= through) return true;
  }
  return false;
}

// "3-5,9,12-40" for the first few runs, then ",..." (the text is for a person reading a
// failure).
std::string runs_text(const std::vector<std::pair<std::int64_t, std::int64_t>>& runs) {
  constexpr std::size_t k_max_runs = 8;
  std::string text;
  for (std::size_t i = 0; i < runs.size() && i < k_max_runs; ++i) {
    if (i > 0) text += ",";
    text += std::to_string(runs[i].first);
    if (runs[i].second != runs[i].first) text += "-" + std::to_string(runs[i].second);
  }
  if (runs.size() > k_max_runs) text += ",...";
  return text;
}

}  // namespace

AuditLine audit(const std::string& scenario, const AgentRecord& record,
                const std::map<std::int64_t, std::int64_t>& rows, const std::string& loss_allowed) {
  AuditLine line;
  line.scenario = scenario;
  line.agent = record.agent;
  line.delivery = record.delivery;
  line.dropped = record.dropped;
  line.quarantined = record.quarantined;
  line.crash_gaps = static_cast<std::int64_t>(record.crash_gaps.size());
  line.loss_allowed = loss_allowed;
  const std::set<std::int64_t> pending(record.pending.begin(), record.pending.end());
  std::vector<std::pair<std::int64_t, std::int64_t>> absent;
  for (std::int64_t seq = 1; seq <= record.last_seq; ++seq) {
    if (in_crash_gap(record, seq)) continue;
    ++line.assigned;
    if (rows.count(seq)) {
      ++line.stored;
    } else if (pending.count(seq)) {
      ++line.pending;
    } else {
      ++line.absent;
      if (!absent.empty() && absent.back().second == seq - 1) {
        absent.back().second = seq;
      } else {
        absent.emplace_back(seq, seq);
      }
    }
  }
  for (const auto& [seq, count] : rows) {
    if (count > 1) line.duplicated += count - 1;
    if (seq < 1 || seq > record.last_seq || in_crash_gap(record, seq)) line.phantom += count;
  }
  line.missing = line.absent - line.dropped;
  line.absent_seqs = runs_text(absent);
  return line;
}

bool AuditLine::ok() const {
  if (duplicated != 0 || phantom != 0 || quarantined != 0 || assigned == 0) return false;
  return missing == 0 || (!loss_allowed.empty() && missing > 0);
}

std::string AuditLine::text() const {
  return "faults: scenario=" + scenario + " agent=" + agent + " delivery=" + delivery +
         " assigned=" + std::to_string(assigned) + " stored=" + std::to_string(stored) +
         " pending=" + std::to_string(pending) + " missing=" + std::to_string(missing) +
         " duplicated=" + std::to_string(duplicated) + " absent=" + std::to_string(absent) +
         " drop_counter=" + std::to_string(dropped) + " phantom=" + std::to_string(phantom) +
         " quarantined=" + std::to_string(quarantined) +
         " crash_gaps=" + std::to_string(crash_gaps) +
         (absent_seqs.empty() ? "" : " absent_seqs=" + absent_seqs) +
         (!loss_allowed.empty() && missing > 0 ? " allowed_loss=" + loss_allowed : "") +
         " result=" + (ok() ? "ok" : "FAIL");
}

}  // namespace streamtrack::faults
