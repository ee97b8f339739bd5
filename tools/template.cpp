// `tessera template (--template-file FILE | --chat-template NAME|JINJA | -m MODEL) --messages FILE
// [--tools FILE] [--add-generation-prompt] [--bos TEXT] [--eos TEXT] [--kwargs JSON]`: renders a
// chat template for a conversation and prints the prompt exactly (no newline added).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>

#include "chat/chat_template.h"
#include "commands.h"
#include "gguf/gguf_file.h"

namespace tessera::tools {
namespace {

constexpr std::string_view kUsage =
    "usage: tessera template (--template-file FILE | --chat-template NAME|JINJA | -m MODEL)\n"
    "                        --messages FILE [--tools FILE] [--add-generation-prompt]\n"
    "                        [--bos TEXT] [--eos TEXT] [--kwargs JSON]\n"
    "  Renders a chat template (Jinja, Hugging Face semantics) and prints the prompt exactly.\n"
    "  --template-file FILE     the Jinja template\n"
    "  --chat-template NAME     a built-in template (chatml, llama2, llama3, gemma, mistral, phi3,\n"
    "                           zephyr, vicuna) or Jinja source\n"
    "  -m, --model FILE         use the GGUF model's tokenizer.chat_template (or the built-in\n"
    "                           template of its architecture when it has none)\n"
    "  --messages FILE          JSON array of OpenAI-style messages ('-' = stdin)\n"
    "  --tools FILE             JSON array of OpenAI tool definitions\n"
    "  --add-generation-prompt  end with the assistant turn's opening\n"
    "  --bos TEXT, --eos TEXT   values of bos_token / eos_token (undefined when omitted)\n"
    "  --kwargs JSON            extra template variables, e.g. '{\"enable_thinking\": false}'\n"
    "  --print-source           print the template's Jinja source instead of rendering\n"
    "  --bench N                render N times and print the mean render time to stderr\n"
    "  Exit status 1 with the error on stderr when the template fails.\n";

struct TemplateArgs {
  std::optional<std::string> template_file, chat_template, model, messages, tools, bos, eos, kwargs;
  bool add_generation_prompt = false;
  bool print_source = false;
  int bench_renders = 0;
};

std::optional<std::string> read_file(const std::string& path) {
  if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), {});
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Result<nlohmann::ordered_json> read_json(const std::string& path, std::string_view what) {
  std::optional<std::string> text = read_file(path);
  if (!text) return Status::error(fmt::format("cannot read {} file '{}'", what, path));
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::error(fmt::format("{} file '{}' is not valid JSON", what, path));
  return j;
}

std::optional<TemplateArgs> parse_args(const Args& args, int& exit_code) {
  TemplateArgs out;
  const auto usage_error = [&](const std::string& message) {
    fmt::print(stderr, "tessera template: {}\n{}", message, kUsage);
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
    } else if (a == "--add-generation-prompt") {
      out.add_generation_prompt = true;
    } else if (a == "--print-source") {
      out.print_source = true;
    } else if (a == "--bench" && has_value) {
      out.bench_renders = std::max(1, std::atoi(args[++i].c_str()));
    } else if (!has_value) {
      return usage_error(fmt::format("unexpected argument '{}'", a));
    } else if (a == "--template-file" || a == "--chat-template-file") {
      out.template_file = args[++i];
    } else if (a == "--chat-template") {
      out.chat_template = args[++i];
    } else if (a == "-m" || a == "--model") {
      out.model = args[++i];
    } else if (a == "--messages") {
      out.messages = args[++i];
    } else if (a == "--tools") {
      out.tools = args[++i];
    } else if (a == "--bos") {
      out.bos = args[++i];
    } else if (a == "--eos") {
      out.eos = args[++i];
    } else if (a == "--kwargs" || a == "--chat-template-kwargs") {
      out.kwargs = args[++i];
    } else {
      return usage_error(fmt::format("unexpected argument '{}'", a));
    }
  }
  const int sources =
      int(out.template_file.has_value()) + int(out.chat_template.has_value()) + int(out.model.has_value());
  if (sources != 1) return usage_error("give exactly one of --template-file, --chat-template and -m");
  if (!out.messages && !out.print_source) return usage_error("--messages is required");
  return out;
}

Result<chat::ChatTemplate> load_template(const TemplateArgs& a) {
  if (a.template_file) {
    std::optional<std::string> source = read_file(*a.template_file);
    if (!source) return Status::error(fmt::format("cannot read template file '{}'", *a.template_file));
    return chat::ChatTemplate::from_source(std::move(*source));
  }
  if (a.chat_template) return chat::ChatTemplate::from_flag(*a.chat_template);
  Result<gguf::GgufFile> file = gguf::GgufFile::open(*a.model);
  if (!file) return file.status();
  return chat::ChatTemplate::from_model_or_builtin(*file);
}

Result<std::string> render(const TemplateArgs& a) {
  Result<chat::ChatTemplate> tmpl = load_template(a);
  if (!tmpl) return tmpl.status();
  if (a.print_source) return tmpl->source();
  chat::ChatInputs in;
  Result<nlohmann::ordered_json> messages = read_json(*a.messages, "messages");
  if (!messages) return messages.status();
  in.messages = std::move(*messages);
  if (a.tools) {
    Result<nlohmann::ordered_json> tools = read_json(*a.tools, "tools");
    if (!tools) return tools.status();
    in.tools = std::move(*tools);
  }
  if (a.kwargs) {
    in.extra_kwargs = nlohmann::ordered_json::parse(*a.kwargs, nullptr, false);
    if (in.extra_kwargs.is_discarded() || !in.extra_kwargs.is_object()) {
      return Status::error("--kwargs must be a JSON object");
    }
  }
  in.add_generation_prompt = a.add_generation_prompt;
  in.bos_token = a.bos;
  in.eos_token = a.eos;
  if (a.bench_renders > 0) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < a.bench_renders; ++i) {
      if (Result<std::string> r = tmpl->render(in); !r) return r.status();
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    fmt::print(stderr, "render: {:.1f} us per render ({} renders)\n", seconds * 1e6 / a.bench_renders, a.bench_renders);
  }
  return tmpl->render(in);
}

}  // namespace

int run_template(const Args& args) {
  int exit_code = 0;
  const std::optional<TemplateArgs> options = parse_args(args, exit_code);
  if (!options) return exit_code;
  Result<std::string> text = render(*options);
  if (!text) {
    fmt::print(stderr, "error: {}\n", text.error());
    return 1;
  }
  std::fwrite(text->data(), 1, text->size(), stdout);
  return 0;
}

}  // namespace tessera::tools
