#include "sampling/params.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace tessera::sampling {
namespace {

struct StageInfo {
  StageType type;
  std::string_view name;
  char letter;
};

constexpr StageInfo kStages[] = {
    {StageType::kPenalties, "penalties", 'e'},
    {StageType::kDry, "dry", 'd'},
    {StageType::kTopNSigma, "top_n_sigma", 's'},
    {StageType::kTopK, "top_k", 'k'},
    {StageType::kTypicalP, "typ_p", 'y'},
    {StageType::kTopP, "top_p", 'p'},
    {StageType::kMinP, "min_p", 'm'},
    {StageType::kXtc, "xtc", 'x'},
    {StageType::kTemperature, "temperature", 't'},
};

// llama.cpp's alternative spellings (common_sampler_types_from_names).
struct AltName {
  std::string_view name;
  StageType type;
};
constexpr AltName kAltNames[] = {
    {"top-k", StageType::kTopK},       {"top-p", StageType::kTopP},         {"top-n-sigma", StageType::kTopNSigma},
    {"nucleus", StageType::kTopP},     {"typical-p", StageType::kTypicalP}, {"typical", StageType::kTypicalP},
    {"typ-p", StageType::kTypicalP},   {"typ", StageType::kTypicalP},       {"min-p", StageType::kMinP},
    {"temp", StageType::kTemperature},
};

std::string all_names() {
  std::string out;
  for (const StageInfo& s : kStages) out += fmt::format("{}{}", out.empty() ? "" : ", ", s.name);
  return out;
}

}  // namespace

std::string_view stage_name(StageType type) {
  return kStages[static_cast<size_t>(type)].name;
}
char stage_letter(StageType type) {
  return kStages[static_cast<size_t>(type)].letter;
}

std::vector<StageType> default_order() {
  return {StageType::kPenalties, StageType::kDry,  StageType::kTopNSigma, StageType::kTopK,       StageType::kTypicalP,
          StageType::kTopP,      StageType::kMinP, StageType::kXtc,       StageType::kTemperature};
}

Result<std::vector<StageType>> parse_stage_names(std::string_view names, char separator) {
  std::vector<StageType> out;
  size_t begin = 0;
  while (begin <= names.size()) {
    size_t end = names.find(separator, begin);
    if (end == std::string_view::npos) end = names.size();
    const std::string_view name = names.substr(begin, end - begin);
    begin = end + 1;
    if (name.empty()) continue;
    bool found = false;
    for (const StageInfo& s : kStages) {
      if (s.name == name) out.push_back(s.type), found = true;
    }
    for (const AltName& a : kAltNames) {
      if (!found && a.name == name) out.push_back(a.type), found = true;
    }
    if (!found) {
      return Status::error(fmt::format("unknown sampler '{}' (known: {})", name, all_names()));
    }
  }
  return out;
}

Result<std::vector<StageType>> parse_stage_letters(std::string_view letters) {
  std::vector<StageType> out;
  for (char c : letters) {
    bool found = false;
    for (const StageInfo& s : kStages) {
      if (s.letter == c) out.push_back(s.type), found = true;
    }
    if (!found) {
      return Status::error(
          fmt::format("unknown sampler letter '{}' (known: e=penalties d=dry s=top_n_sigma k=top_k "
                      "y=typ_p p=top_p m=min_p x=xtc t=temperature)",
                      c));
    }
  }
  return out;
}

Result<LogitBias> parse_logit_bias(std::string_view text) {
  const auto bad = [&] {
    return Status::error(fmt::format("'{}' is not TOKEN_ID(+|-)BIAS, e.g. 15043+1 or 2-inf", text));
  };
  LogitBias out;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out.token);
  if (error != std::errc() || end == text.data() || end == text.data() + text.size()) return bad();
  if (out.token < 0) return bad();
  const char sign = *end;
  if (sign != '+' && sign != '-') return bad();
  const std::string value(end + 1, text.data() + text.size());
  if (value.empty()) return bad();
  // strtof also reads "inf"; the whole rest must be the number.
  char* value_end = nullptr;
  const float magnitude = std::strtof(value.c_str(), &value_end);
  if (value_end != value.c_str() + value.size() || std::isnan(magnitude) || magnitude < 0) return bad();
  out.bias = sign == '-' ? -magnitude : magnitude;
  return out;
}

Status SamplerParams::validate() const {
  const auto fail = [](std::string_view field, std::string_view why) {
    return Status::error(fmt::format("sampling parameter {} {}", field, why));
  };
  if (min_keep < 0) return fail("min_keep", "must be >= 0");
  if (repeat_last_n < -1) return fail("repeat_last_n", "must be >= -1");
  if (dry_penalty_last_n < -1) return fail("dry_penalty_last_n", "must be >= -1");
  if (dry_allowed_length < 0) return fail("dry_allowed_length", "must be >= 0");
  if (mirostat < 0 || mirostat > 2) return fail("mirostat", "must be 0, 1 or 2");
  if (!(mirostat_eta >= 0) || !(mirostat_tau >= 0)) return fail("mirostat_tau/eta", "must be >= 0");
  if (!(dynatemp_exponent >= 0)) return fail("dynatemp_exponent", "must be >= 0");
  if (std::isnan(temperature) || std::isnan(top_p) || std::isnan(min_p) || std::isnan(typical_p) ||
      std::isnan(top_n_sigma) || std::isnan(xtc_probability) || std::isnan(xtc_threshold) ||
      std::isnan(repeat_penalty) || std::isnan(frequency_penalty) || std::isnan(presence_penalty) ||
      std::isnan(dry_multiplier) || std::isnan(dry_base) || std::isnan(dynatemp_range)) {
    return fail("values", "must not be NaN");
  }
  for (const LogitBias& b : logit_bias) {
    if (b.token < 0) return fail("logit_bias", fmt::format("has a negative token id {}", b.token));
    if (std::isnan(b.bias)) return fail("logit_bias", "has a NaN bias");
  }
  return Status();
}

namespace {

// One `general.sampling.*` key read into a field the user did not set.
class ModelDefaults {
 public:
  ModelDefaults(const gguf::GgufFile& file, std::vector<std::string>& applied) : file_(file), applied_(applied) {}

  Status read_int(std::string_view name, bool user_set, int32_t& field) {
    const gguf::Value* v = file_.find(fmt::format("general.sampling.{}", name));
    if (v == nullptr || user_set) return Status();
    const std::optional<int64_t> x = v->get_signed();
    if (!x || *x < std::numeric_limits<int32_t>::min() || *x > std::numeric_limits<int32_t>::max()) {
      return Status::error(fmt::format("general.sampling.{}: expected an integer", name));
    }
    field = static_cast<int32_t>(*x);
    applied_.push_back(fmt::format("{}={}", name, field));
    return Status();
  }
  Status read_float(std::string_view name, bool user_set, float& field) {
    const gguf::Value* v = file_.find(fmt::format("general.sampling.{}", name));
    if (v == nullptr || user_set) return Status();
    std::optional<double> x = v->get_float();
    if (!x) {
      if (const std::optional<int64_t> i = v->get_signed()) x = static_cast<double>(*i);
    }
    if (!x || std::isnan(*x)) return Status::error(fmt::format("general.sampling.{}: expected a number", name));
    field = static_cast<float>(*x);
    applied_.push_back(fmt::format("{}={}", name, field));
    return Status();
  }

 private:
  const gguf::GgufFile& file_;
  std::vector<std::string>& applied_;
};

}  // namespace

Result<std::vector<std::string>> apply_model_defaults(const gguf::GgufFile& file, const UserSet& user_set,
                                                      SamplerParams& params) {
  std::vector<std::string> applied;
  ModelDefaults d(file, applied);
  for (Status s :
       {d.read_int("top_k", user_set.top_k, params.top_k), d.read_float("top_p", user_set.top_p, params.top_p),
        d.read_float("min_p", user_set.min_p, params.min_p),
        d.read_float("xtc_probability", user_set.xtc_probability, params.xtc_probability),
        d.read_float("xtc_threshold", user_set.xtc_threshold, params.xtc_threshold),
        d.read_float("temp", user_set.temperature, params.temperature),
        d.read_int("penalty_last_n", user_set.repeat_last_n, params.repeat_last_n),
        d.read_float("penalty_repeat", user_set.repeat_penalty, params.repeat_penalty),
        d.read_int("mirostat", user_set.mirostat, params.mirostat),
        d.read_float("mirostat_tau", user_set.mirostat_tau, params.mirostat_tau),
        d.read_float("mirostat_eta", user_set.mirostat_eta, params.mirostat_eta)}) {
    if (!s) return s;
  }
  if (const gguf::Value* v = file.find("general.sampling.sequence"); v != nullptr && !user_set.order) {
    const std::optional<std::string_view> text = v->get_string();
    if (!text) return Status::error("general.sampling.sequence: expected a string");
    Result<std::vector<StageType>> order = parse_stage_names(*text, ';');
    if (!order) return Status::error(fmt::format("general.sampling.sequence: {}", order.error()));
    if (!order->empty()) {
      params.order = std::move(*order);
      applied.push_back(fmt::format("sequence={}", *text));
    }
  }
  if (Status s = params.validate(); !s) return Status::error(fmt::format("general.sampling.*: {}", s.message()));
  return applied;
}

}  // namespace tessera::sampling
