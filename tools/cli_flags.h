// Table-driven command-line flags for the `tessera` subcommands, with llama.cpp's spellings.
//
// Each subcommand builds a FlagSet from its options struct: every flag names its spellings, its
// value (or none, for a switch), its help, its group and its default as shown by --help; the
// handler writes the parsed value into the options struct and checks its range. Errors are one
// line naming the flag, and an unknown flag suggests the closest valid one.
//
//   RunOptions o;
//   FlagSet flags("tessera run", "[-m MODEL] -p PROMPT [options]");
//   flags.add_value({"-n", "--n-predict"}, "N", "tokens to generate (-1 = until end)", "Generation", o.n_predict,
//                   at_least(-1));
//   Result<ParsedArgs> parsed = flags.parse(args);
#pragma once

#include <fmt/format.h>

#include <charconv>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "commands.h"
#include "tessera/status.h"

namespace tessera::tools::cli {

struct Flag {
  std::vector<std::string> names;  // e.g. {"-m", "--model"}
  std::string value_name;          // e.g. "FILE"; empty for a switch (takes no value)
  std::string help;
  std::string group;         // --help lists flags by group, in the order groups first appear
  std::string default_text;  // shown as "(default: ...)"; empty: not shown
  // Parses and stores the value ("" for a switch); an error message says what is wrong with it.
  std::function<Status(const std::string& value)> apply;
};

struct ParsedArgs {
  bool help = false;                    // -h / --help was given: print help() and exit 0
  std::vector<std::string> positional;  // arguments that are not flags, in order
  std::vector<std::string> given;       // the first spelling of every flag the user gave, in order

  bool was_given(std::string_view first_name) const;
};

// Parses a number of type T from the whole of `text`.
template <class T>
bool parse_number(std::string_view text, T& out) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size() && !text.empty();
}

// Range checks for add_value: return an empty string when ok, else what is wrong.
template <class T>
std::function<std::string(T)> at_least(T low) {
  return [low](T v) { return v >= low ? std::string() : fmt::format("must be >= {}", low); };
}
template <class T>
std::function<std::string(T)> in_range(T low, T high) {
  return [low, high](T v) {
    return v >= low && v <= high ? std::string() : fmt::format("must be in [{}, {}]", low, high);
  };
}

class FlagSet {
 public:
  // `command` is e.g. "tessera run"; `synopsis` follows it on the usage line.
  FlagSet(std::string command, std::string synopsis);

  void add(Flag flag);
  void add_switch(std::vector<std::string> names, std::string help, std::string group, bool& target, bool value = true);
  void add_string(std::vector<std::string> names, std::string value_name, std::string help, std::string group,
                  std::string& target);
  // A number flag; `check` (optional) rejects out-of-range values. The default shown is target's
  // value at the time of the call.
  template <class T>
  void add_value(std::vector<std::string> names, std::string value_name, std::string help, std::string group, T& target,
                 std::function<std::string(T)> check = {}) {
    add(Flag{std::move(names), std::move(value_name), std::move(help), std::move(group), fmt::format("{}", target),
             [&target, check](const std::string& text) {
               T v{};
               if (!parse_number(text, v)) return Status::error(fmt::format("'{}' is not a valid number", text));
               if (check) {
                 if (std::string problem = check(v); !problem.empty()) {
                   return Status::error(fmt::format("{} {}", text, problem));
                 }
               }
               target = v;
               return Status();
             }});
  }
  // Sets the default shown by --help for the flag spelled `name` (for defaults that are not the
  // target's initial value, such as "all cores").
  void set_default_text(std::string_view name, std::string text);

  // Parses `args`. Errors are one line: "tessera run: unknown flag '--tmp' (did you mean --temp?)".
  Result<ParsedArgs> parse(const Args& args) const;
  // parse() for a subcommand's main: on a usage error prints it (returns 2); on -h prints help()
  // (returns 0); with `positional_allowed` false, a positional argument is a usage error. nullopt:
  // go on with `out`.
  std::optional<int> parse_or_report(const Args& args, ParsedArgs& out, bool positional_allowed = false) const;
  std::string help() const;

  // The spelling among every flag's names closest to `word` (edit distance), or "" if none is close.
  std::string closest_name(std::string_view word) const;

 private:
  const Flag* find(std::string_view name) const;

  std::string command_;
  std::string synopsis_;
  std::vector<Flag> flags_;
};

// Edit distance (insertions, deletions, substitutions), for "did you mean" suggestions.
size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace tessera::tools::cli
