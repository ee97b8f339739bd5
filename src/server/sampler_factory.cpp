#include "server/sampler_factory.h"

#include <fmt/format.h>

#include "grammar/grammar.h"
#include "sampling/grammar_constraint.h"

namespace tessera::server {

SamplerFactory::SamplerFactory(const tokenizer::Tokenizer& tokenizer, int32_t n_ctx_slot)
    : tokenizer_(tokenizer), n_ctx_slot_(n_ctx_slot), vocab_(grammar::GrammarVocabulary::from_tokenizer(tokenizer)) {}

std::shared_ptr<sampling::Chain> SamplerFactory::make(const sampling::SamplerParams& params, const std::string& gbnf,
                                                      const std::string& field, std::optional<ApiError>& error) const {
  Result<sampling::Chain> chain =
      sampling::Chain::create(params, sampling::ChainContext::from_tokenizer(tokenizer_, n_ctx_slot_, params));
  if (!chain) {
    error = ApiError::invalid(chain.error());
    return nullptr;
  }
  if (!gbnf.empty()) {
    Result<grammar::Grammar> g = grammar::parse_gbnf(gbnf);
    if (!g) {
      error = ApiError::invalid(fmt::format("'{}': {}", field, g.error()), field, "invalid_grammar");
      return nullptr;
    }
    auto compiled = std::make_shared<const grammar::Grammar>(std::move(*g));
    Result<std::unique_ptr<sampling::GrammarConstraint>> c = sampling::GrammarConstraint::create(compiled, vocab_);
    if (!c) {
      error = ApiError::invalid(fmt::format("'{}': {}", field, c.error()), field, "invalid_grammar");
      return nullptr;
    }
    chain->set_constraint(std::move(*c));
  }
  return std::make_shared<sampling::Chain>(std::move(*chain));
}

}  // namespace tessera::server
