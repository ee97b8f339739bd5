// `tessera tokenize -m FILE (-p TEXT | -f FILE | --stdin) [--ids] [--no-bos] [--parse-special]
// [--show-count]`: the token ids a model's vocabulary gives a text.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>

#include "commands.h"
#include "gguf/gguf_file.h"
#include "tokenizer/tokenizer.h"

namespace tessera::tools {
namespace {

constexpr std::string_view kUsage =
    "usage: tessera tokenize [-m FILE] (-p TEXT | -f FILE | --stdin) [--ids] [--no-bos] [--parse-special]\n"
    "                        [--show-count]\n"
    "  Tokenizes a text with the vocabulary of a GGUF file (vocab-only files work too).\n"
    "  -m, --model FILE     GGUF file (default: the model installed by ./setup.sh)\n"
    "  -p, --prompt TEXT    the text\n"
    "  -f, --file FILE      read the text from FILE\n"
    "  --stdin              read the text from standard input\n"
    "  --ids                print only the ids, as a JSON array\n"
    "  --no-bos             do not add BOS/EOS (add_special = false)\n"
    "  --parse-special      text such as <|im_start|> becomes the special token\n"
    "  --show-count         print the number of tokens at the end\n"
    "  Default output: one line per token, 'ID -> 'PIECE''.\n";

struct TokenizeArgs {
  std::string model;
  std::optional<std::string> prompt;
  std::optional<std::string> file;
  bool from_stdin = false;
  bool ids_only = false;
  bool add_special = true;
  bool parse_special = false;
  bool show_count = false;
};

std::optional<TokenizeArgs> parse_args(const Args& args, int& exit_code) {
  TokenizeArgs out;
  const auto usage_error = [&](const std::string& message) {
    fmt::print(stderr, "tessera tokenize: {}\n{}", message, kUsage);
    exit_code = 2;
    return std::nullopt;
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const bool has_value = i + 1 < args.size();
    if (a == "-h" || a == "--help") {
      fmt::print("{}", kUsage);
      exit_code = 0;
      return std::nullopt;
    } else if ((a == "-m" || a == "--model") && has_value) {
      out.model = args[++i];
    } else if ((a == "-p" || a == "--prompt") && has_value) {
      out.prompt = args[++i];
    } else if ((a == "-f" || a == "--file") && has_value) {
      out.file = args[++i];
    } else if (a == "--stdin") {
      out.from_stdin = true;
    } else if (a == "--ids") {
      out.ids_only = true;
    } else if (a == "--no-bos") {
      out.add_special = false;
    } else if (a == "--parse-special") {
      out.parse_special = true;
    } else if (a == "--show-count") {
      out.show_count = true;
    } else {
      return usage_error(fmt::format("unexpected argument '{}'", a));
    }
  }
  const int sources = int(out.prompt.has_value()) + int(out.file.has_value()) + int(out.from_stdin);
  if (sources != 1) return usage_error("give exactly one of -p, -f and --stdin");
  if (out.model.empty()) out.model = default_model_path();
  return out;
}

std::optional<std::string> read_text(const TokenizeArgs& args) {
  if (args.prompt) return *args.prompt;
  if (args.from_stdin) return std::string(std::istreambuf_iterator<char>(std::cin), {});
  std::ifstream in(*args.file, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

int run_tokenize(const Args& args) {
  int exit_code = 0;
  const std::optional<TokenizeArgs> options = parse_args(args, exit_code);
  if (!options) return exit_code;
  const std::optional<std::string> text = read_text(*options);
  if (!text) {
    fmt::print(stderr, "error: cannot read '{}'\n", *options->file);
    return 1;
  }
  Result<gguf::GgufFile> file = gguf::GgufFile::open(options->model);
  if (!file) {
    fmt::print(stderr, "error: {}\n", file.error());
    return 1;
  }
  Result<tokenizer::Tokenizer> tok = tokenizer::Tokenizer::load(*file);
  if (!tok) {
    fmt::print(stderr, "error: {}\n", tok.error());
    return 1;
  }
  for (const std::string& w : tok->vocab().warnings()) fmt::print(stderr, "warning: {}\n", w);

  const std::vector<tokenizer::TokenId> ids =
      tok->tokenize(*text, {.add_special = options->add_special, .parse_special = options->parse_special});
  std::string out;
  if (options->ids_only) {
    out = fmt::format("[{}]\n", fmt::join(ids, ", "));
  } else {
    // Pieces are raw bytes: a piece may be part of a UTF-8 character, printed as is.
    for (tokenizer::TokenId id : ids) out += fmt::format("{:>6} -> '{}'\n", id, tok->token_to_piece(id, true));
  }
  if (options->show_count) out += fmt::format("Total number of tokens: {}\n", ids.size());
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace tessera::tools
