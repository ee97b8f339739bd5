// Integer and number ranges as GBNF digit patterns.
//
// [lo, hi] over non-negative integers is split by digit count, and each same-length range
// [a, b] by its first differing digit (the classic range-to-regex construction): 123-456 ->
// "1" (2[3-9] | [3-9][0-9]) | [2-3][0-9]{2} | "4" ([0-4][0-9] | "5" [0-6]).
#include <fmt/format.h>

#include <cmath>

#include "grammar/json_schema_parts.h"

namespace tessera::grammar::json_schema {
namespace {

constexpr int kMaxDigits = 16;  // unbounded sides stop here (doubles hold 15-17 digits)

uint64_t pow10(int n) {
  uint64_t p = 1;
  for (int i = 0; i < n; ++i) p *= 10;
  return p;
}

std::string digit_class(char a, char b) {
  if (a == b) return fmt::format("\"{}\"", a);
  if (a == '0' && b == '9') return "[0-9]";
  return fmt::format("[{}-{}]", a, b);
}

std::string join_alternatives(const std::vector<std::string>& alts) {
  if (alts.size() == 1) return alts[0];
  std::string out = "(";
  for (size_t i = 0; i < alts.size(); ++i) out += (i ? " | " : "") + alts[i];
  return out + ")";
}

std::string any_digits(size_t n) {
  if (n == 0) return "";
  if (n == 1) return " [0-9]";
  return fmt::format(" [0-9]{{{}}}", n);
}

// Same-length decimal strings a <= b.
std::string same_length_range(std::string_view a, std::string_view b) {
  if (a.size() == 1) return digit_class(a[0], b[0]);
  if (a[0] == b[0]) return fmt::format("\"{}\" {}", a[0], same_length_range(a.substr(1), b.substr(1)));
  const size_t rest = a.size() - 1;
  const bool a_rest_zero = a.substr(1).find_first_not_of('0') == std::string_view::npos;
  const bool b_rest_nine = b.substr(1).find_first_not_of('9') == std::string_view::npos;
  std::vector<std::string> alts;
  char lo = a[0], hi = b[0];
  if (!a_rest_zero) {
    alts.push_back(fmt::format("\"{}\" {}", a[0], same_length_range(a.substr(1), std::string(rest, '9'))));
    ++lo;
  }
  if (!b_rest_nine) --hi;
  if (lo <= hi) alts.push_back(digit_class(lo, hi) + any_digits(rest));
  if (!b_rest_nine) {
    alts.push_back(fmt::format("\"{}\" {}", b[0], same_length_range(std::string(rest, '0'), b.substr(1))));
  }
  return join_alternatives(alts);
}

// Non-negative integers in [a, b] (b = nullopt: up to kMaxDigits digits).
std::string natural_range(uint64_t a, std::optional<uint64_t> b) {
  std::vector<std::string> alts;
  const size_t la = std::to_string(a).size();
  if (!b) {
    const uint64_t top = la >= kMaxDigits ? pow10(kMaxDigits) - 1 : pow10(static_cast<int>(la)) - 1;
    alts.push_back(same_length_range(std::to_string(a), std::to_string(top)));
    if (la < kMaxDigits) alts.push_back(fmt::format("[1-9] [0-9]{{{},{}}}", la, kMaxDigits - 1));
    return join_alternatives(alts);
  }
  uint64_t from = a;
  while (from <= *b) {
    const std::string sf = std::to_string(from);
    const uint64_t top = std::min(*b, pow10(static_cast<int>(sf.size())) - 1);
    alts.push_back(same_length_range(sf, std::to_string(top)));
    if (top == *b) break;
    from = top + 1;
  }
  return join_alternatives(alts);
}

}  // namespace

Result<std::string> integer_range(std::optional<int64_t> lo, std::optional<int64_t> hi) {
  if (lo && hi && *lo > *hi) return Status::error(fmt::format("no integer lies in [{}, {}]", *lo, *hi));
  std::vector<std::string> alts;
  // negative part: -m for m in [max(1, -hi), -lo]
  if (!lo || *lo < 0) {
    const uint64_t m_min = (hi && *hi < 0) ? static_cast<uint64_t>(-*hi) : 1;
    std::optional<uint64_t> m_max;
    if (lo) m_max = static_cast<uint64_t>(-*lo);
    if (!m_max || m_min <= *m_max) alts.push_back("\"-\" " + natural_range(m_min, m_max));
  }
  // non-negative part
  if (!hi || *hi >= 0) {
    const uint64_t a = lo && *lo > 0 ? static_cast<uint64_t>(*lo) : 0;
    std::optional<uint64_t> b;
    if (hi) b = static_cast<uint64_t>(*hi);
    alts.push_back(natural_range(a, b));
  }
  return join_alternatives(alts);
}

Result<std::string> number_range(const NumberBounds& bounds) {
  constexpr double kLimit = 1e15;
  auto finite = [](std::optional<double> v) { return !v || std::isfinite(*v); };
  if (!finite(bounds.min) || !finite(bounds.max)) return Status::error("minimum/maximum must be finite numbers");
  // Beyond +-1e15 a bound is treated as no bound: the grammar stops at 16 digits anyway.
  std::optional<double> lo = bounds.min && std::fabs(*bounds.min) < kLimit ? bounds.min : std::nullopt;
  std::optional<double> hi = bounds.max && std::fabs(*bounds.max) < kLimit ? bounds.max : std::nullopt;
  if (bounds.min && !lo && *bounds.min > 0) return Status::error("minimum above 1e15 is not supported");
  if (bounds.max && !hi && *bounds.max < 0) return Status::error("maximum below -1e15 is not supported");
  std::vector<std::string> alts;
  // integers
  std::optional<int64_t> ilo, ihi;
  if (lo)
    ilo = static_cast<int64_t>(std::ceil(lo.value_or(0))) + ((bounds.min_exclusive && std::ceil(*lo) == *lo) ? 1 : 0);
  if (hi)
    ihi = static_cast<int64_t>(std::floor(hi.value_or(0))) - ((bounds.max_exclusive && std::floor(*hi) == *hi) ? 1 : 0);
  if (!ilo || !ihi || *ilo <= *ihi) alts.push_back(*integer_range(ilo, ihi));
  // decimals m.f (f > 0: the last digit is not 0) lying strictly inside (m, m+1) or (-(m+1), -m)
  const std::string fraction = "\".\" [0-9]{0,15} [1-9]";
  const double lo_v = lo.value_or(0), hi_v = hi.value_or(0);
  {  // non-negative m with ceil(lo) <= m <= floor(hi) - 1
    const int64_t a = lo ? std::max<int64_t>(0, static_cast<int64_t>(std::ceil(lo_v))) : 0;
    const int64_t b = hi ? static_cast<int64_t>(std::floor(hi_v)) - 1 : INT64_MAX;
    if (a <= b) alts.push_back(*integer_range(a, hi ? std::optional<int64_t>(b) : std::nullopt) + " " + fraction);
  }
  {  // negative: -(m.f) with max(0, -floor(hi)) <= m <= floor(-lo) - 1
    const int64_t a = hi ? std::max<int64_t>(0, -static_cast<int64_t>(std::floor(hi_v))) : 0;
    const int64_t b = lo ? static_cast<int64_t>(std::floor(-lo_v)) - 1 : INT64_MAX;
    if (a <= b)
      alts.push_back("\"-\" " + *integer_range(a, lo ? std::optional<int64_t>(b) : std::nullopt) + " " + fraction);
  }
  if (alts.empty()) return Status::error("no number with up to 16 decimals satisfies minimum/maximum");
  return join_alternatives(alts);
}

}  // namespace tessera::grammar::json_schema
