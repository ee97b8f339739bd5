#include "run_session.h"

#include <algorithm>

namespace tessera::tools {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// True when `text` ends with `stop`, allowing up to two characters after it (a token can carry
// text past the stop string; llama-cli widens its search window the same way in non-interactive
// mode).
bool ends_with_stop(const std::string& text, const std::string& stop) {
  const size_t window = stop.size() + 2;
  const size_t from = text.size() > window ? text.size() - window : 0;
  return text.find(stop, from) != std::string::npos;
}

}  // namespace

void RunLog::write(const std::string& line) {
  std::fputs(line.c_str(), stderr);
  std::fputc('\n', stderr);
  if (file_ != nullptr) {
    std::fputs(line.c_str(), file_);
    std::fputc('\n', file_);
    std::fflush(file_);
  }
}

std::string_view stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::kEndOfGeneration: return "end of generation";
    case StopReason::kLength: return "token limit (-n)";
    case StopReason::kStopString: return "stop string (-r)";
    case StopReason::kInterrupted: return "interrupted";
    case StopReason::kContextFull: return "context full";
    case StopReason::kGrammarComplete: return "grammar complete";
  }
  return "?";
}

Result<std::unique_ptr<RunSession>> RunSession::create(const RunOptions& options, const sampling::UserSet& user_set,
                                                       RunLog& log, std::chrono::steady_clock::time_point start) {
  std::unique_ptr<RunSession> s(new RunSession(options, log));
  const std::string path = model_path(options.model);
  Result<std::shared_ptr<const model::Model>> loaded = model::Model::load(path);
  if (!loaded) return loaded.status();
  s->model_ = *loaded;
  Result<tokenizer::Tokenizer> tok = tokenizer::Tokenizer::load(s->model_->file());
  if (!tok) return tok.status();
  s->tokenizer_.emplace(std::move(*tok));
  s->decoder_.emplace(*s->tokenizer_, options.special);

  Result<model::ForwardParams> fp = forward_params(options.model);
  if (!fp) return fp.status();
  s->n_batch_ = options.model.n_batch;
  Result<std::unique_ptr<model::ForwardPass>> forward = model::ForwardPass::create(s->model_, *fp);
  if (!forward) return forward.status();
  s->forward_ = std::move(*forward);

  sampling::SamplerParams params = options.sampling;
  Result<std::vector<std::string>> defaults = sampling::apply_model_defaults(s->model_->file(), user_set, params);
  if (!defaults) return Status::error(fmt::format("{}: {}", path, defaults.error()));
  for (const std::string& d : *defaults) log.debug("sampling: model default {}", d);
  const auto n_ctx = static_cast<int32_t>(s->n_ctx());
  Result<sampling::Chain> chain =
      sampling::Chain::create(params, sampling::ChainContext::from_tokenizer(*s->tokenizer_, n_ctx, params));
  if (!chain) return chain.status();
  s->chain_.emplace(std::move(*chain));
  if (options.make_constraint) {
    Result<std::unique_ptr<sampling::Constraint>> constraint = options.make_constraint(*s->tokenizer_);
    if (!constraint) return constraint.status();
    s->chain_->set_constraint(std::move(*constraint));
  }
  log.debug("model: {} ({} threads, {} batch threads, context {})", path, fp->n_threads, fp->n_threads_batch, n_ctx);
  log.debug("sampler chain: {} (seed {})", s->chain_->describe(), s->chain_->seed());
  if (options.warmup) {
    if (Status w = s->warmup(); !w) return w;
  }
  s->timings_.load_s = seconds_since(start);
  return s;
}

Status RunSession::warmup() {
  // As llama.cpp: decode BOS (and EOS) once so that the first real decode does not pay for
  // first-touch page faults of the weights, then forget it.
  const tokenizer::SpecialTokens& sp = tokenizer_->vocab().special();
  runtime::Batch batch;
  int32_t pos = 0;
  for (tokenizer::TokenId id : {sp.bos, sp.eos}) {
    if (id != tokenizer::kNoToken) batch.add(id, pos++, 0, false);
  }
  if (batch.size() == 0) batch.add(0, 0, 0, false);
  batch.output.back() = 1;
  std::vector<float> scratch;
  if (Status s = forward_->decode(batch, scratch); !s) return Status::error(fmt::format("warmup: {}", s.message()));
  forward_->kv_cache().clear();
  return Status();
}

std::vector<int32_t> RunSession::tokenize(std::string_view text, bool add_special) const {
  return tokenizer_->tokenize(text, {.add_special = add_special, .parse_special = true});
}

Status RunSession::feed(std::span<const int32_t> tokens, bool echo) {
  if (tokens.empty()) return Status();
  const int64_t n_ctx = this->n_ctx();
  if (static_cast<int64_t>(cached_.size() + tokens.size()) > n_ctx) {
    return Status::error(
        fmt::format("the input is {} tokens and {} are already in the context, but the context "
                    "holds {} (-c {})",
                    tokens.size(), cached_.size(), n_ctx, n_ctx));
  }
  // The text goes through the same decoder as the generation, so that a character split between
  // the prompt and the first generated token comes out whole.
  std::string text;
  for (int32_t id : tokens) text += decoder_->push(id);
  if (echo) print(text);
  const auto start = std::chrono::steady_clock::now();
  runtime::Batch batch;
  for (size_t begin = 0; begin < tokens.size(); begin += static_cast<size_t>(n_batch_)) {
    const size_t end = std::min(tokens.size(), begin + static_cast<size_t>(n_batch_));
    batch.clear();
    for (size_t i = begin; i < end; ++i) {
      batch.add(tokens[i], static_cast<int32_t>(cached_.size() + i - begin), 0, i + 1 == tokens.size());
    }
    if (Status s = forward_->decode(batch, logits_); !s) return s;
    cached_.insert(cached_.end(), tokens.begin() + static_cast<std::ptrdiff_t>(begin),
                   tokens.begin() + static_cast<std::ptrdiff_t>(end));
  }
  chain_->accept_prompt(tokens);
  timings_.prompt_tokens += static_cast<int64_t>(tokens.size());
  timings_.prompt_s += seconds_since(start);
  return Status();
}

Status RunSession::feed_reusing_cache(const std::vector<int32_t>& tokens) {
  size_t common = 0;
  while (common < cached_.size() && common < tokens.size() && cached_[common] == tokens[common]) ++common;
  // At least one token must be decoded to have logits for the next draw.
  if (common == tokens.size() && common > 0) --common;
  if (common < cached_.size()) {
    forward_->kv_cache().seq_rm(0, static_cast<int32_t>(common), -1);
    cached_.resize(common);
  }
  return feed(std::span<const int32_t>(tokens).subspan(common));
}

void RunSession::print(std::string_view text) {
  if (text.empty()) return;
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

Result<RunSession::Output> RunSession::generate(int32_t n_predict, const std::function<bool()>& should_stop) {
  Output out;
  const auto start = std::chrono::steady_clock::now();
  const tokenizer::Vocab& vocab = tokenizer_->vocab();
  runtime::Batch batch;
  int32_t n_generated = 0;
  out.reason = StopReason::kLength;
  while (n_predict < 0 || n_generated < n_predict) {
    if (should_stop && should_stop()) {
      out.reason = StopReason::kInterrupted;
      break;
    }
    const auto sample_start = std::chrono::steady_clock::now();
    Result<int32_t> next = chain_->sample(logits_);
    if (!next) return next.status();
    chain_->accept(*next);
    timings_.sampling_s += seconds_since(sample_start);
    ++timings_.sampled_tokens;
    if (vocab.is_end_of_generation(*next)) {
      out.reason = StopReason::kEndOfGeneration;
      break;
    }
    ++n_generated;
    const std::string piece = decoder_->push(*next);
    print(piece);
    out.text += piece;
    if (std::any_of(options_.reverse_prompts.begin(), options_.reverse_prompts.end(),
                    [&](const std::string& r) { return ends_with_stop(out.text, r); })) {
      out.reason = StopReason::kStopString;
      break;
    }
    if (chain_->constraint() != nullptr && chain_->constraint()->is_complete()) {
      out.reason = StopReason::kGrammarComplete;
      break;
    }
    if (static_cast<int64_t>(cached_.size()) >= n_ctx()) {
      out.reason = StopReason::kContextFull;
      break;
    }
    batch.clear();
    batch.add(*next, static_cast<int32_t>(cached_.size()), 0, true);
    if (Status s = forward_->decode(batch, logits_); !s) return s;
    cached_.push_back(*next);
  }
  const std::string rest = decoder_->finish();
  print(rest);
  out.text += rest;
  timings_.generated_tokens += n_generated;
  timings_.generation_s += seconds_since(start);
  return out;
}

void RunSession::clear() {
  forward_->kv_cache().clear();
  cached_.clear();
  chain_->reset();
  decoder_->finish();
}

void RunSession::print_timings(RunLog& log) const {
  const Timings& t = timings_;
  log.info("load: {:.1f} ms", t.load_s * 1e3);
  log.info("prompt: {} tokens in {:.2f} s ({:.1f} tokens/s)", t.prompt_tokens, t.prompt_s,
           static_cast<double>(t.prompt_tokens) / std::max(t.prompt_s, 1e-9));
  log.info("generation: {} tokens in {:.2f} s ({:.1f} tokens/s)", t.generated_tokens, t.generation_s,
           static_cast<double>(t.generated_tokens) / std::max(t.generation_s, 1e-9));
  log.info("sampling: {} tokens in {:.2f} ms ({:.1f} us per token)", t.sampled_tokens, t.sampling_s * 1e3,
           t.sampling_s * 1e6 / static_cast<double>(std::max<int64_t>(t.sampled_tokens, 1)));
}

}  // namespace tessera::tools
