#include "agent/sources/youtube/quota.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "common/daemon/log.hpp"

namespace streamtrack::agent::sources::youtube {

using std::chrono::seconds;

namespace {

constexpr std::int64_t k_day = 86400;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

std::uint32_t be32(const std::string& d, std::size_t at) {
  if (at + 4 > d.size()) throw std::runtime_error("truncated");
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(d[at + i]);
  return v;
}

std::int64_t be64(const std::string& d, std::size_t at) {
  const std::uint64_t hi = be32(d, at);
  const std::uint64_t lo = be32(d, at + 4);
  return static_cast<std::int64_t>((hi << 32) | lo);
}

// Parses "[+-]hh[:mm[:ss]]" at `pos`.
std::optional<std::int64_t> parse_hms(std::string_view s, std::size_t& pos) {
  int sign = 1;
  if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) sign = s[pos++] == '-' ? -1 : 1;
  std::int64_t parts[3] = {0, 0, 0};
  for (int p = 0; p < 3; ++p) {
    if (p > 0) {
      if (pos >= s.size() || s[pos] != ':') break;
      ++pos;
    }
    const std::size_t begin = pos;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      parts[p] = parts[p] * 10 + (s[pos++] - '0');
    }
    if (pos == begin) return std::nullopt;
  }
  return sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]);
}

bool skip_name(std::string_view s, std::size_t& pos) {
  const std::size_t begin = pos;
  if (pos < s.size() && s[pos] == '<') {
    pos = s.find('>', pos);
    if (pos == std::string_view::npos) return false;
    ++pos;
    return true;
  }
  while (pos < s.size() && std::isalpha(static_cast<unsigned char>(s[pos]))) ++pos;
  return pos - begin >= 3;
}

bool parse_date_rule(std::string_view s, std::size_t& pos, int (&mwd)[3], seconds& time) {
  if (pos >= s.size() || s[pos] != 'M') return false;
  ++pos;
  for (int i = 0; i < 3; ++i) {
    if (i > 0) {
      if (pos >= s.size() || s[pos] != '.') return false;
      ++pos;
    }
    const std::size_t begin = pos;
    int v = 0;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos])))
      v = v * 10 + (s[pos++] - '0');
    if (pos == begin) return false;
    mwd[i] = v;
  }
  if (mwd[0] < 1 || mwd[0] > 12 || mwd[1] < 1 || mwd[1] > 5 || mwd[2] > 6) return false;
  if (pos < s.size() && s[pos] == '/') {
    ++pos;
    auto t = parse_hms(s, pos);
    if (!t) return false;
    time = seconds{*t};
  }
  return true;
}

// Local midnight (as seconds since the epoch, local) of the day given by a POSIX Mm.w.d rule.
std::int64_t rule_day(int year, const int (&mwd)[3]) {
  using namespace std::chrono;
  const auto ym = std::chrono::year{year} / month{static_cast<unsigned>(mwd[0])};
  const weekday wd{static_cast<unsigned>(mwd[2])};
  sys_days day;
  if (mwd[1] == 5) {
    day = sys_days{ym / wd[last]};
  } else {
    day = sys_days{ym / wd[static_cast<unsigned>(mwd[1])]};
  }
  return day.time_since_epoch().count() * k_day;
}

}  // namespace

ZoneRules ZoneRules::from_posix(std::string_view rule) {
  ZoneRules z;
  Posix p;
  std::size_t pos = 0;
  const auto bad = [&rule] {
    return std::invalid_argument("unsupported TZ rule \"" + std::string(rule) + "\"");
  };
  if (!skip_name(rule, pos)) throw bad();
  auto std_off = parse_hms(rule, pos);
  if (!std_off) throw bad();
  p.std_offset = seconds{-*std_off};
  if (pos < rule.size()) {
    if (!skip_name(rule, pos)) throw bad();
    p.dst_offset = p.std_offset + seconds{3600};
    if (pos < rule.size() && rule[pos] != ',') {
      auto dst = parse_hms(rule, pos);
      if (!dst) throw bad();
      p.dst_offset = seconds{-*dst};
    }
    if (pos >= rule.size() || rule[pos++] != ',' ||
        !parse_date_rule(rule, pos, p.start, p.start_time) || pos >= rule.size() ||
        rule[pos++] != ',' || !parse_date_rule(rule, pos, p.end, p.end_time) ||
        pos != rule.size()) {
      throw bad();
    }
  }
  z.m_initial_offset = static_cast<std::int32_t>(p.std_offset.count());
  z.m_posix = p;
  return z;
}

ZoneRules ZoneRules::from_tzif(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read \"" + path + "\"");
  const std::string d((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  try {
    if (d.size() < 44 || d.compare(0, 4, "TZif") != 0) throw std::runtime_error("not a TZif file");
    const auto block_size = [&d](std::size_t header, bool v2) {
      const std::size_t isut = be32(d, header + 20), isstd = be32(d, header + 24),
                        leap = be32(d, header + 28), time = be32(d, header + 32),
                        type = be32(d, header + 36), chars = be32(d, header + 40);
      const std::size_t t = v2 ? 8 : 4;
      return time * t + time + type * 6 + chars + leap * (t + 4) + isstd + isut;
    };
    std::size_t header = 0;
    const bool v2 = d[4] >= '2';
    if (v2) header = 44 + block_size(0, false);
    const std::size_t t = v2 ? 8 : 4;
    const std::size_t timecnt = be32(d, header + 32), typecnt = be32(d, header + 36);
    if (typecnt == 0) throw std::runtime_error("no local time types");
    const std::size_t times_at = header + 44;
    const std::size_t idx_at = times_at + timecnt * t;
    const std::size_t types_at = idx_at + timecnt;
    if (types_at + typecnt * 6 > d.size()) throw std::runtime_error("truncated");
    ZoneRules z;
    const auto utoff = [&](std::size_t type) {
      if (type >= typecnt) throw std::runtime_error("bad local time type index");
      return static_cast<std::int32_t>(be32(d, types_at + type * 6));
    };
    z.m_initial_offset = utoff(0);
    for (std::size_t i = 0; i < timecnt; ++i) {
      z.m_transitions.push_back(v2 ? be64(d, times_at + i * 8)
                                   : static_cast<std::int32_t>(be32(d, times_at + i * 4)));
      z.m_offsets.push_back(utoff(static_cast<unsigned char>(d[idx_at + i])));
    }
    if (v2) {
      const std::size_t footer = header + 44 + block_size(header, true);
      if (footer < d.size() && d[footer] == '\n') {
        const auto end = d.find('\n', footer + 1);
        const auto rule = d.substr(footer + 1, end == std::string::npos ? end : end - footer - 1);
        if (!rule.empty()) z.m_posix = from_posix(rule).m_posix;
      }
    }
    return z;
  } catch (const std::exception& e) {
    throw std::runtime_error("\"" + path + "\": " + e.what());
  }
}

seconds ZoneRules::posix_offset(std::int64_t utc) const {
  const auto& p = *m_posix;
  if (!p.dst_offset) return p.std_offset;
  using namespace std::chrono;
  const auto local_days = sys_days{days{floor_div(utc + p.std_offset.count(), k_day)}};
  const int year = static_cast<int>(year_month_day{local_days}.year());
  const std::int64_t start = rule_day(year, p.start) + p.start_time.count() - p.std_offset.count();
  const std::int64_t end = rule_day(year, p.end) + p.end_time.count() - p.dst_offset->count();
  const bool dst = start < end ? (utc >= start && utc < end) : !(utc >= end && utc < start);
  return dst ? *p.dst_offset : p.std_offset;
}

seconds ZoneRules::offset(TimePoint t) const {
  const std::int64_t s = floor_div(t.time_since_epoch().count(), 1000);
  if (m_transitions.empty() || s >= m_transitions.back()) {
    if (m_posix) return posix_offset(s);
    return seconds{m_offsets.empty() ? m_initial_offset : m_offsets.back()};
  }
  const auto it = std::upper_bound(m_transitions.begin(), m_transitions.end(), s);
  if (it == m_transitions.begin()) return seconds{m_initial_offset};
  return seconds{m_offsets[static_cast<std::size_t>(it - m_transitions.begin() - 1)]};
}

TimePoint ZoneRules::next_midnight(TimePoint t) const {
  const std::int64_t s = floor_div(t.time_since_epoch().count(), 1000);
  const std::int64_t local = s + offset(t).count();
  const std::int64_t midnight = (floor_div(local, k_day) + 1) * k_day;
  std::int64_t utc = midnight - offset(t).count();
  utc = midnight - offset(TimePoint{seconds{utc}}).count();
  return TimePoint{seconds{utc}};
}

const ZoneRules& pacific_time() {
  static const ZoneRules rules = [] {
    const char* dir = std::getenv("TZDIR");
    const std::string path =
        std::string(dir && *dir ? dir : "/usr/share/zoneinfo") + "/America/Los_Angeles";
    try {
      return ZoneRules::from_tzif(path);
    } catch (const std::exception& e) {
      log::warning(std::string("tz database unusable, using the built-in US Pacific rule: ") +
                   e.what());
      return ZoneRules::from_posix("PST8PDT,M3.2.0,M11.1.0");
    }
  }();
  return rules;
}

QuotaPlanner::QuotaPlanner(std::int64_t daily_units, const ZoneRules& zone)
    : m_daily(daily_units), m_zone(zone) {}

void QuotaPlanner::roll(TimePoint now) {
  if (m_day_end != TimePoint{} && now < m_day_end) return;
  const bool first = m_day_end == TimePoint{};
  m_day_end = m_zone.next_midnight(now);
  m_day_start = m_zone.next_midnight(now - std::chrono::hours(24));
  if (m_day_start > now) m_day_start = m_zone.next_midnight(now - std::chrono::hours(48));
  if (!first) {
    m_spent = 0;
    m_paused = false;
  }
}

bool QuotaPlanner::allow(std::int64_t units, TimePoint now) {
  roll(now);
  if (m_paused) return false;
  const double length = static_cast<double>((m_day_end - m_day_start).count());
  const double elapsed = static_cast<double>((now - m_day_start).count());
  const double share = length > 0 ? std::clamp(elapsed / length, 0.0, 1.0) : 1.0;
  const double daily = static_cast<double>(m_daily);
  double allowance = daily * share + daily / 96.0;
  allowance = std::max(allowance, static_cast<double>(units));
  allowance = std::min(allowance, daily);
  return static_cast<double>(m_spent + units) <= allowance;
}

void QuotaPlanner::spend(std::int64_t units, TimePoint now) {
  roll(now);
  m_spent += units;
  m_total += units;
}

void QuotaPlanner::exhausted(TimePoint now) {
  roll(now);
  m_paused = true;
}

std::optional<TimePoint> QuotaPlanner::paused_until(TimePoint now) {
  roll(now);
  if (!m_paused) return std::nullopt;
  return m_day_end;
}

}  // namespace streamtrack::agent::sources::youtube
