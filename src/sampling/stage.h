// The interface every sampler in a chain implements, and the candidate array they work on.
//
// A chain runs its stages in order over one CandidateArray built from the logits; the last
// stage (the draw, or greedy) sets `selected`. Stages may keep state that follows the generated
// text (penalties, DRY, Mirostat, grammars): accept() is called with every token the chain
// emits (and with the prompt tokens where the stage wants them), reset() forgets it, clone()
// copies it (the server clones a configured chain per request).
//
// A Constraint (the grammar) is not a stage: the chain asks it first whether the token it drew is
// allowed (cheap), and only when it is not does it mask the full candidate array and draw again.
// This keeps the common case at one check per token.
//
// Thread-safety: one chain per generation stream; none of these are safe to share across threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace tessera::sampling {

struct Candidate {
  int32_t id;
  float logit;
  float p;  // probability, valid after a stage that computes it (softmax); else 0
};

struct CandidateArray {
  std::vector<Candidate> data;
  bool sorted = false;    // true when data is sorted by logit, descending
  int64_t selected = -1;  // index into data of the chosen token, set by the final stage

  size_t size() const { return data.size(); }
};

class SamplerStage {
 public:
  virtual ~SamplerStage() = default;
  virtual std::string_view name() const = 0;
  virtual void apply(CandidateArray& candidates) = 0;
  virtual void accept(int32_t /*token*/) {}
  virtual void reset() {}
  virtual std::unique_ptr<SamplerStage> clone() const = 0;
};

class Constraint {
 public:
  virtual ~Constraint() = default;
  // True when emitting `token` keeps the output valid (end-of-generation tokens: only when the
  // output so far is complete).
  virtual bool allows(int32_t token) const = 0;
  // Sets logit = -infinity for every candidate that allows() would reject.
  virtual void apply(CandidateArray& candidates) const = 0;
  // Advances past `token`, which must be allowed.
  virtual void accept(int32_t token) = 0;
  // True when no further token can extend the output: generation should stop.
  virtual bool is_complete() const = 0;
  virtual void reset() = 0;
  virtual std::unique_ptr<Constraint> clone() const = 0;
};

}  // namespace tessera::sampling
