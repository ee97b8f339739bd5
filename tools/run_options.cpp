#include "run_options.h"

#include <fstream>
#include <random>
#include <sstream>

namespace tessera::tools {
namespace {

// A flag that may be given several times; each value is appended.
cli::Flag repeated(std::vector<std::string> names, std::string value_name, std::string help, std::string group,
                   std::function<Status(const std::string&)> apply) {
  return cli::Flag{std::move(names), std::move(value_name), std::move(help), std::move(group), "", std::move(apply)};
}

void add_generation_flags(cli::FlagSet& flags, RunOptions& o) {
  const std::string g = "Prompt and output";
  flags.add_string({"-p", "--prompt"}, "TEXT", "prompt to start the generation with", g, o.prompt);
  flags.add_string({"-f", "--file"}, "FILE", "read the prompt from a file", g, o.prompt_file);
  flags.add_value({"-n", "--n-predict", "--predict"}, "N",
                  "tokens to generate (-1 = until end of text or full context)", g, o.n_predict,
                  cli::at_least<int32_t>(-1));
  flags.add_switch({"-e", "--escape"}, "process escapes in the prompt (\\n, \\r, \\t, \\', \\\", \\\\, \\xHH)", g,
                   o.escape, true);
  flags.set_default_text("-e", "on");
  flags.add_switch({"--no-escape"}, "do not process escapes", g, o.escape, false);
  flags.add_switch({"-sp", "--special"}, "print special tokens (e.g. <end_of_turn>) in the output", g, o.special);
  flags.add_switch({"--no-display-prompt"}, "print only the generated text, not the prompt", g, o.display_prompt,
                   false);
  flags.add(repeated({"-r", "--reverse-prompt"}, "TEXT",
                     "stop when the output ends with TEXT (printed, as llama-cli does); repeatable", g,
                     [&o](const std::string& v) {
                       if (v.empty()) return Status::error("the stop string is empty");
                       o.reverse_prompts.push_back(v);
                       return Status();
                     }));
  flags.add_switch({"--no-warmup"}, "skip the warmup decode before the prompt", g, o.warmup, false);
  flags.add_switch({"--verbose-prompt"}, "print the prompt's tokens to stderr before generating", g, o.verbose_prompt);
  flags.add_string({"--log-file"}, "FILE", "also write diagnostics and timings to FILE", g, o.log_file);
  flags.add_switch({"-v", "--verbose", "--log-verbose"}, "more diagnostics on stderr (chain, model defaults, ...)", g,
                   o.verbose);
}

void add_chat_flags(cli::FlagSet& flags, RunOptions& o) {
  const std::string g = "Chat";
  flags.add(cli::Flag{{"-cnv", "--conversation"},
                      "",
                      "chat mode: format turns with the model's chat template",
                      g,
                      "",
                      [&o](const std::string&) {
                        o.conversation = RunOptions::Conversation::kOn;
                        return Status();
                      }});
  flags.add(cli::Flag{{"-no-cnv", "--no-conversation"},
                      "",
                      "plain completion even if the model has a chat template",
                      g,
                      "",
                      [&o](const std::string&) {
                        o.conversation = RunOptions::Conversation::kOff;
                        return Status();
                      }});
  flags.add_string({"-sys", "--system-prompt"}, "TEXT", "system message that starts the conversation", g,
                   o.system_prompt);
  flags.add_switch({"-st", "--single-turn"}, "chat mode: answer the first message (-p) and exit", g, o.single_turn);
  flags.add_string({"--chat-template"}, "NAME|JINJA", "built-in template name or Jinja source instead of the model's",
                   g, o.chat_template);
}

void add_sampling_flags(cli::FlagSet& flags, RunOptions& o) {
  const std::string g = "Sampling";
  sampling::SamplerParams& s = o.sampling;
  flags.add_value({"-s", "--seed"}, "N", "random seed (-1 = random)", g, o.seed,
                  cli::in_range<int64_t>(-1, 0xFFFFFFFE));
  flags.add(cli::Flag{{"--samplers"},
                      "LIST",
                      "stages in order, separated by ';'",
                      g,
                      "penalties;dry;top_n_sigma;top_k;typ_p;top_p;min_p;xtc;temperature",
                      [&s](const std::string& v) {
                        Result<std::vector<sampling::StageType>> order = sampling::parse_stage_names(v, ';');
                        if (!order) return order.status();
                        s.order = std::move(*order);
                        return Status();
                      }});
  flags.add(cli::Flag{{"--sampler-seq", "--sampling-seq"},
                      "LETTERS",
                      "stages in order, one letter each",
                      g,
                      "edskypmxt",
                      [&s](const std::string& v) {
                        Result<std::vector<sampling::StageType>> order = sampling::parse_stage_letters(v);
                        if (!order) return order.status();
                        s.order = std::move(*order);
                        return Status();
                      }});
  flags.add_switch({"--ignore-eos"}, "never stop at end-of-generation tokens", g, s.ignore_eos);
  flags.add_value({"--temp", "--temperature"}, "T", "temperature (<= 0 = greedy)", g, s.temperature);
  flags.add_value({"--top-k"}, "N", "top-k sampling (0 = off)", g, s.top_k, cli::at_least<int32_t>(0));
  flags.add_value({"--top-p"}, "P", "top-p sampling (1.0 = off)", g, s.top_p, cli::in_range(0.0f, 1.0f));
  flags.add_value({"--min-p"}, "P", "min-p sampling (0.0 = off)", g, s.min_p, cli::in_range(0.0f, 1.0f));
  flags.add_value({"--top-nsigma", "--top-n-sigma"}, "N", "top-n-sigma sampling (<= 0 = off)", g, s.top_n_sigma);
  flags.add_value({"--xtc-probability"}, "P", "XTC probability (0.0 = off)", g, s.xtc_probability,
                  cli::in_range(0.0f, 1.0f));
  flags.add_value({"--xtc-threshold"}, "P", "XTC threshold (> 0.5 = off)", g, s.xtc_threshold,
                  cli::in_range(0.0f, 1.0f));
  flags.add_value({"--typical"}, "P", "locally typical sampling (1.0 = off)", g, s.typical_p,
                  cli::in_range(0.0f, 1.0f));
  flags.add_value({"--repeat-last-n"}, "N", "tokens the penalties look back over (0 = off, -1 = context)", g,
                  s.repeat_last_n, cli::at_least<int32_t>(-1));
  flags.add_value({"--repeat-penalty"}, "X", "repeat penalty (1.0 = off)", g, s.repeat_penalty, cli::at_least(0.0f));
  flags.add_value({"--presence-penalty"}, "X", "presence penalty (0.0 = off)", g, s.presence_penalty);
  flags.add_value({"--frequency-penalty"}, "X", "frequency penalty (0.0 = off)", g, s.frequency_penalty);
  flags.add_value({"--dry-multiplier"}, "X", "DRY multiplier (0.0 = off)", g, s.dry_multiplier, cli::at_least(0.0f));
  flags.add_value({"--dry-base"}, "X", "DRY base", g, s.dry_base, cli::at_least(0.0f));
  flags.add_value({"--dry-allowed-length"}, "N", "DRY: repeats up to this long are free", g, s.dry_allowed_length,
                  cli::at_least<int32_t>(0));
  flags.add_value({"--dry-penalty-last-n"}, "N", "DRY: tokens scanned (0 = off, -1 = context)", g, s.dry_penalty_last_n,
                  cli::at_least<int32_t>(-1));
  flags.add(repeated({"--dry-sequence-breaker"}, "TEXT",
                     "DRY sequence breaker; the first use replaces the defaults ('\\n' ':' '\"' '*'), 'none' clears "
                     "them; repeatable",
                     g, [&s, cleared = false](const std::string& v) mutable {
                       if (!cleared) s.dry_sequence_breakers.clear(), cleared = true;
                       if (v == "none") {
                         s.dry_sequence_breakers.clear();
                       } else {
                         s.dry_sequence_breakers.push_back(v);
                       }
                       return Status();
                     }));
  flags.add_value({"--dynatemp-range"}, "X", "dynamic temperature range (0.0 = off)", g, s.dynatemp_range,
                  cli::at_least(0.0f));
  flags.add_value({"--dynatemp-exp"}, "X", "dynamic temperature exponent", g, s.dynatemp_exponent, cli::at_least(0.0f));
  flags.add_value({"--mirostat"}, "N", "Mirostat: 0 = off, 1 = Mirostat, 2 = Mirostat 2.0", g, s.mirostat,
                  cli::in_range<int32_t>(0, 2));
  flags.add_value({"--mirostat-lr"}, "X", "Mirostat learning rate (eta)", g, s.mirostat_eta, cli::at_least(0.0f));
  flags.add_value({"--mirostat-ent"}, "X", "Mirostat target entropy (tau)", g, s.mirostat_tau, cli::at_least(0.0f));
  flags.add(repeated({"-l", "--logit-bias"}, "TOKEN(+|-)BIAS",
                     "add BIAS to a token's logit, e.g. 15043+1 or 2-inf; repeatable", g, [&s](const std::string& v) {
                       Result<sampling::LogitBias> b = sampling::parse_logit_bias(v);
                       if (!b) return b.status();
                       s.logit_bias.push_back(*b);
                       return Status();
                     }));
}

}  // namespace

void add_run_flags(cli::FlagSet& flags, RunOptions& o) {
  add_generation_flags(flags, o);
  add_model_flags(flags, o.model);
  add_sampling_flags(flags, o);
  add_grammar_flags(flags, o);
  add_chat_flags(flags, o);
}

std::string process_escapes(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out += text[i];
      continue;
    }
    const char c = text[++i];
    switch (c) {
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case '\'': out += '\''; break;
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case 'x':
        if (i + 2 < text.size() + 0 && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
          out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
          i += 2;
          break;
        }
        [[fallthrough]];
      default:  // unknown escapes stay as they are, as llama.cpp
        out += '\\';
        out += c;
    }
  }
  return out;
}

Status finish_run_options(const cli::ParsedArgs& parsed, RunOptions& o, sampling::UserSet& user_set) {
  if (!parsed.positional.empty()) {
    return Status::error(
        fmt::format("tessera run: unexpected argument '{}' (the prompt goes after -p)", parsed.positional.front()));
  }
  if (!o.prompt_file.empty()) {
    if (parsed.was_given("-p")) return Status::error("tessera run: give the prompt with -p or -f, not both");
    std::ifstream in(o.prompt_file, std::ios::binary);
    if (!in) return Status::error(fmt::format("tessera run: cannot read the prompt file '{}'", o.prompt_file));
    std::ostringstream text;
    text << in.rdbuf();
    o.prompt = text.str();
    // llama.cpp drops one trailing newline of a prompt file.
    if (!o.prompt.empty() && o.prompt.back() == '\n') o.prompt.pop_back();
  }
  const bool chat = o.conversation == RunOptions::Conversation::kOn;
  if (o.prompt.empty() && !chat) {
    return Status::error(parsed.was_given("-p") || !o.prompt_file.empty()
                             ? "tessera run: the prompt is empty"
                             : "tessera run: a prompt is needed (-p TEXT or -f FILE)");
  }
  if (o.escape) {
    o.prompt = process_escapes(o.prompt);
    o.system_prompt = process_escapes(o.system_prompt);
    for (std::string& r : o.reverse_prompts) r = process_escapes(r);
  }
  o.sampling.seed = o.seed < 0 ? std::random_device{}() : static_cast<uint32_t>(o.seed);
  user_set.top_k = parsed.was_given("--top-k");
  user_set.top_p = parsed.was_given("--top-p");
  user_set.min_p = parsed.was_given("--min-p");
  user_set.temperature = parsed.was_given("--temp");
  user_set.xtc_probability = parsed.was_given("--xtc-probability");
  user_set.xtc_threshold = parsed.was_given("--xtc-threshold");
  user_set.repeat_last_n = parsed.was_given("--repeat-last-n");
  user_set.repeat_penalty = parsed.was_given("--repeat-penalty");
  user_set.mirostat = parsed.was_given("--mirostat");
  user_set.mirostat_tau = parsed.was_given("--mirostat-ent");
  user_set.mirostat_eta = parsed.was_given("--mirostat-lr");
  user_set.order = parsed.was_given("--samplers") || parsed.was_given("--sampler-seq");
  return Status();
}

}  // namespace tessera::tools
