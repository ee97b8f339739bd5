// The server's thin adapter over the sampling and grammar modules: builds one sampler chain per
// generation stream from a request's SamplerParams and optional grammar (GBNF text, already
// converted from a JSON schema where the request gave one). Errors are ApiErrors naming the field.
//
// Thread-safety: make() may run concurrently (the shared grammar vocabulary is read-only).
#pragma once

#include <memory>
#include <string>

#include "grammar/token_mask.h"
#include "sampling/chain.h"
#include "server/api_error.h"
#include "tokenizer/tokenizer.h"

namespace tessera::server {

class SamplerFactory {
 public:
  // `n_ctx_slot` resolves repeat_last_n = -1 and dry_penalty_last_n = -1.
  SamplerFactory(const tokenizer::Tokenizer& tokenizer, int32_t n_ctx_slot);

  // A chain for `params`, constrained by `gbnf` when it is not empty (`field` names the request
  // field it came from, for errors). Sets `error` and returns null on bad parameters or grammar.
  std::shared_ptr<sampling::Chain> make(const sampling::SamplerParams& params, const std::string& gbnf,
                                        const std::string& field, std::optional<ApiError>& error) const;

 private:
  const tokenizer::Tokenizer& tokenizer_;
  int32_t n_ctx_slot_;
  std::shared_ptr<const grammar::GrammarVocabulary> vocab_;  // built once: a pass over the vocabulary
};

}  // namespace tessera::server
