#include "cli_flags.h"

#include <algorithm>

namespace tessera::tools::cli {

bool ParsedArgs::was_given(std::string_view first_name) const {
  return std::find(given.begin(), given.end(), first_name) != given.end();
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t substitute = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      diagonal = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, substitute});
    }
  }
  return row[b.size()];
}

FlagSet::FlagSet(std::string command, std::string synopsis)
    : command_(std::move(command)), synopsis_(std::move(synopsis)) {}

void FlagSet::add(Flag flag) {
  for (const std::string& name : flag.names) TESSERA_CHECK(find(name) == nullptr, "flag spelled twice");
  flags_.push_back(std::move(flag));
}

void FlagSet::add_switch(std::vector<std::string> names, std::string help, std::string group, bool& target,
                         bool value) {
  add(Flag{std::move(names), "", std::move(help), std::move(group), "", [&target, value](const std::string&) {
             target = value;
             return Status();
           }});
}

void FlagSet::add_string(std::vector<std::string> names, std::string value_name, std::string help, std::string group,
                         std::string& target) {
  std::string shown = target;
  add(Flag{std::move(names), std::move(value_name), std::move(help), std::move(group), std::move(shown),
           [&target](const std::string& v) {
             target = v;
             return Status();
           }});
}

void FlagSet::set_default_text(std::string_view name, std::string text) {
  for (Flag& f : flags_) {
    if (std::find(f.names.begin(), f.names.end(), name) != f.names.end()) {
      f.default_text = std::move(text);
      return;
    }
  }
  TESSERA_CHECK(false, "set_default_text of an unknown flag");
}

const Flag* FlagSet::find(std::string_view name) const {
  for (const Flag& f : flags_) {
    if (std::find(f.names.begin(), f.names.end(), name) != f.names.end()) return &f;
  }
  return nullptr;
}

std::string FlagSet::closest_name(std::string_view word) const {
  std::string best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;  // beyond this, no suggestion
  for (const Flag& f : flags_) {
    for (const std::string& name : f.names) {
      const size_t d = edit_distance(word, name);
      if (d < best_distance) {
        best_distance = d;
        best = name;
      }
    }
  }
  return best;
}

Result<ParsedArgs> FlagSet::parse(const Args& args) const {
  ParsedArgs parsed;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i];
    if (name == "-h" || name == "--help") {
      parsed.help = true;
      continue;
    }
    if (name.size() < 2 || name[0] != '-' || (name[1] >= '0' && name[1] <= '9')) {
      parsed.positional.push_back(name);
      continue;
    }
    // --flag=value is accepted for long flags, as in llama.cpp.
    std::string inline_value;
    bool has_inline_value = false;
    if (const size_t eq = name.find('='); name.rfind("--", 0) == 0 && eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name.resize(eq);
      has_inline_value = true;
    }
    const Flag* flag = find(name);
    if (flag == nullptr) {
      const std::string suggestion = closest_name(name);
      return Status::error(fmt::format("{}: unknown flag '{}'{}; see --help", command_, name,
                                       suggestion.empty() ? "" : fmt::format(" (did you mean {}?)", suggestion)));
    }
    std::string value;
    if (!flag->value_name.empty()) {
      if (has_inline_value) {
        value = inline_value;
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return Status::error(fmt::format("{}: {} needs a value ({})", command_, name, flag->value_name));
      }
    } else if (has_inline_value) {
      return Status::error(fmt::format("{}: {} takes no value", command_, name));
    }
    if (Status s = flag->apply(value); !s) {
      return Status::error(fmt::format("{}: bad value for {}: {}", command_, name, s.message()));
    }
    parsed.given.push_back(flag->names.front());
  }
  return parsed;
}

std::optional<int> FlagSet::parse_or_report(const Args& args, ParsedArgs& out, bool positional_allowed) const {
  Result<ParsedArgs> parsed = parse(args);
  if (!parsed) {
    fmt::print(stderr, "{}\n", parsed.error());
    return 2;
  }
  if (parsed->help) {
    fmt::print("{}", help());
    return 0;
  }
  if (!positional_allowed && !parsed->positional.empty()) {
    fmt::print(stderr, "{}: unexpected argument '{}'; see --help\n", command_, parsed->positional.front());
    return 2;
  }
  out = std::move(*parsed);
  return std::nullopt;
}

std::string FlagSet::help() const {
  std::string out = fmt::format("usage: {} {}\n", command_, synopsis_);
  std::vector<std::string> groups;
  for (const Flag& f : flags_) {
    if (std::find(groups.begin(), groups.end(), f.group) == groups.end()) groups.push_back(f.group);
  }
  for (const std::string& group : groups) {
    out += fmt::format("\n{}:\n", group);
    for (const Flag& f : flags_) {
      if (f.group != group) continue;
      std::string spelling;
      for (const std::string& name : f.names) spelling += (spelling.empty() ? "" : ", ") + name;
      if (!f.value_name.empty()) spelling += " " + f.value_name;
      std::string text = f.help;
      if (!f.default_text.empty()) text += fmt::format(" (default: {})", f.default_text);
      if (spelling.size() <= 26) {
        out += fmt::format("  {:<26} {}\n", spelling, text);
      } else {
        out += fmt::format("  {}\n  {:<26} {}\n", spelling, "", text);
      }
    }
  }
  out += "\n  -h, --help                 show this help\n";
  return out;
}

}  // namespace tessera::tools::cli
