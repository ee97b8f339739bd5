// `tessera serve -m MODEL -c 4096 --port 8080 -np 4`: the OpenAI-compatible HTTP server.
// The HTTP listener starts first (so /health answers 503 while the model loads); SIGINT and
// SIGTERM stop it gracefully: no new connections, queued and running generations end with a
// 503 error, handler threads finish, exit status 0.
#include <fmt/format.h>
#include <pthread.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "commands.h"
#include "common_flags.h"
#include "server/http_transport.h"
#include "server/service.h"

namespace tessera::tools {
namespace {

struct ServeOptions {
  ModelOptions model;
  int n_parallel = 1;
  size_t max_queue = 64;
  std::string alias;
  std::string chat_template;
  std::string chat_template_file;
  std::string cors_origins;
  std::optional<server::Pooling> pooling;  // nullopt: what the model implies
  bool metrics = false;
  server::HttpOptions http;
};

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find(',', start), text.size());
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

cli::FlagSet make_flags(ServeOptions& o) {
  cli::FlagSet flags("tessera serve", "[-m MODEL] [-c N] [-np N] [--host H] [--port P] [options]");
  add_model_flags(flags, o.model);
  const std::string srv = "Server";
  flags.add_value({"-np", "--parallel"}, "N", "parallel slots (each gets n_ctx / N cells)", srv, o.n_parallel,
                  cli::in_range(1, 64));
  flags.add_value({"--queue-size"}, "N", "requests waiting for a slot before new ones get 503", srv, o.max_queue,
                  cli::at_least<size_t>(1));
  flags.add_string({"--host"}, "ADDR", "address to listen on", srv, o.http.host);
  flags.add_value({"--port"}, "N", "port to listen on", srv, o.http.port, cli::in_range(0, 65535));
  flags.add_string({"--api-key"}, "KEY", "require 'Authorization: Bearer KEY' (not for /health)", srv, o.http.api_key);
  flags.add_string({"--cors-origins"}, "LIST", "comma-separated origins allowed by CORS, or '*'", srv, o.cors_origins);
  flags.add_value({"-to", "--timeout"}, "S", "read/write timeout of a request in seconds", srv, o.http.timeout_s,
                  cli::at_least(1));
  flags.add_value({"--threads-http"}, "N", "HTTP handler threads", srv, o.http.threads_http, cli::at_least(1));
  flags.set_default_text("--threads-http", "slots + queue size + 4");
  flags.add_value({"--max-body-bytes"}, "N", "largest request body accepted (413 beyond)", srv, o.http.max_body_bytes,
                  cli::at_least<size_t>(1024));
  // Checked while the flags are parsed, so a bad value is a usage error before anything starts.
  flags.add(
      cli::Flag{{"--pooling"}, "{mean,cls,last}", "pooling of /v1/embeddings", srv, "", [&o](const std::string& v) {
                  Result<server::Pooling> pooling = server::parse_pooling(v);
                  if (!pooling) return Status::error(pooling.error());
                  o.pooling = *pooling;
                  return Status();
                }});
  flags.set_default_text("--pooling", "the model's pooling_type; mean when it has none");
  flags.add_switch({"--metrics"}, "enable the Prometheus /metrics endpoint", srv, o.metrics);
  flags.add_string({"-a", "--alias"}, "NAME", "model id shown by /v1/models", srv, o.alias);
  flags.set_default_text("-a", "the model file's name");
  flags.add_string({"--chat-template"}, "NAME", "built-in chat template (chatml, gemma, llama3, ...) or Jinja source",
                   srv, o.chat_template);
  flags.set_default_text("--chat-template", "the model's; chatml when it has none");
  flags.add_string({"--chat-template-file"}, "FILE", "Jinja chat template file (instead of the model's)", srv,
                   o.chat_template_file);
  return flags;
}

void log_event(const std::string& event, const std::string& detail) {
  fmt::print(stderr, "{{\"event\": \"{}\", \"detail\": \"{}\"}}\n", event, detail);
}

Result<server::LoadedModel> load(const ServeOptions& o) {
  server::LoadedModel m;
  m.model_path = model_path(o.model);
  Result<std::shared_ptr<const model::Model>> model = model::Model::load(m.model_path);
  if (!model) return model.status();
  m.model = *model;
  Result<tokenizer::Tokenizer> tok = tokenizer::Tokenizer::load(m.model->file());
  if (!tok) return tok.status();
  m.tokenizer = std::make_unique<tokenizer::Tokenizer>(std::move(*tok));
  std::string chat_template = o.chat_template;
  if (!o.chat_template_file.empty()) {
    std::ifstream in(o.chat_template_file, std::ios::binary);
    if (!in) return Status::error(fmt::format("cannot read --chat-template-file {}", o.chat_template_file));
    chat_template.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  Result<server::ChatFormat> chat = server::ChatFormat::create(m.model->file(), *m.tokenizer, chat_template);
  if (!chat) return chat.status();
  m.chat = std::make_unique<server::ChatFormat>(std::move(*chat));
  Result<model::ForwardParams> fp = forward_params(o.model);
  if (!fp) return fp.status();
  fp->n_threads_batch = o.model.n_threads_batch;
  Result<std::unique_ptr<model::ForwardPass>> forward = model::ForwardPass::create(m.model, *fp);
  if (!forward) return forward.status();
  m.forward = std::move(*forward);
  server::SchedulerParams sp;
  sp.n_slots = o.n_parallel;
  sp.max_queue = o.max_queue;
  sp.n_step_tokens = std::min(o.model.n_batch, o.model.n_ubatch);
  m.scheduler = std::make_unique<server::Scheduler>(*m.forward, *m.tokenizer, sp);
  server::EmbedderParams ep{*fp, server::model_pooling(*m.model)};
  ep.forward.n_ctx = m.scheduler->n_ctx_slot();
  if (o.pooling) ep.pooling = *o.pooling;
  m.embedder = std::make_unique<server::Embedder>(m.model, ep);
  m.samplers = std::make_unique<server::SamplerFactory>(*m.tokenizer, static_cast<int32_t>(m.scheduler->n_ctx_slot()));
  m.model_id = o.alias.empty() ? std::filesystem::path(m.model_path).filename().string() : o.alias;
  return m;
}

}  // namespace

int run_serve(const Args& args) {
  ServeOptions o;
  cli::FlagSet flags = make_flags(o);
  cli::ParsedArgs parsed;
  if (std::optional<int> exit_code = flags.parse_or_report(args, parsed)) return *exit_code;
  o.http.cors_origins = split_commas(o.cors_origins);
  if (o.http.threads_http == 0) o.http.threads_http = o.n_parallel + static_cast<int>(o.max_queue) + 4;

  // Signals go to a sigwait below, not to handlers: every thread started from here on inherits
  // the mask. A write to a vanished client must fail with EPIPE, not kill the process.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  server::Service service;
  service.metrics_enabled = o.metrics;
  server::HttpServer http(o.http, service);
  if (Status s = http.bind(); !s) {
    fmt::print(stderr, "error: {}\n", s.message());
    return 1;
  }
  std::thread listener([&http] { http.run(); });
  log_event("listening", fmt::format("http://{}:{}", o.http.host, http.port()));

  Result<server::LoadedModel> loaded = load(o);
  if (!loaded) {
    fmt::print(stderr, "error: {}\n", loaded.error());
    service.set_failed();
    http.stop();
    listener.join();
    return 1;
  }
  service.set_ready(std::move(*loaded));
  log_event("ready", fmt::format("model {} with {} slots of {} tokens", service.loaded().model_id, o.n_parallel,
                                 service.loaded().scheduler->n_ctx_slot()));

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  log_event("shutdown", fmt::format("signal {}: stopping", signal_number));
  service.loaded().scheduler->stop();
  http.stop();
  listener.join();
  log_event("stopped", "bye");
  return 0;
}

}  // namespace tessera::tools
