// Jinja interpreter: walks the syntax tree with jinja2's scoping rules (each for-loop iteration,
// macro call and `with` block gets a fresh scope whose writes do not leak out; `if` does not open
// one) and Python's semantics for operators, truthiness and printing.
//
// Untrusted templates are bounded by RenderLimits: loop iterations, call depth and output size;
// exceeding one is a render error, not a hang or a crash.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <unordered_map>

#include "chat/jinja_ast.h"
#include "chat/jinja_value.h"

namespace tessera::chat::jinja {

struct RenderLimits {
  size_t max_loop_iterations = 1'000'000;  // all loops of one render together
  int max_call_depth = 100;                // nested macro / recursive-loop calls
  size_t max_output_bytes = 32u << 20;     // output and any single string value
};

struct Scope {
  std::unordered_map<std::string, Value> vars;
  std::shared_ptr<Scope> parent;

  const Value* lookup(const std::string& name) const;
};

class Interpreter {
 public:
  // `globals` and `context` are dicts; context entries shadow globals.
  Interpreter(const RenderLimits& limits, const Value& globals, const Value& context);
  // Breaks the reference cycles macros make (a macro holds its defining scope, which holds it).
  ~Interpreter();
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;

  // Renders the template body; throws JinjaError.
  std::string render(const Body& body);

  // Calls a callable value (macros, globals, bound methods) with evaluated arguments.
  Value call(const Value& callee, CallArgs& args, SourcePos pos);
  // Python str / list helpers with the size limit applied.
  void check_size(size_t bytes) const;
  const RenderLimits& limits() const { return limits_; }
  // Counts one loop iteration against the limit (filters that loop call it too).
  void count_iteration();

  // Attribute and item access with jinja2's rules (dict keys vs. methods, undefined on a miss).
  Value get_attr(const Value& obj, const std::string& name);
  Value get_item(const Value& obj, const Value& key);

 private:
  enum class Flow { kNormal, kBreak, kContinue };

  Flow exec_body(const Body& body, std::string& out);
  Flow exec(const Stmt& s, std::string& out);
  void exec_if(const Stmt& s, std::string& out, Flow& flow);
  void exec_for(const Stmt& s, std::string& out);
  void run_loop(const Stmt& s, std::vector<Value> items, int depth, std::string& out);
  void exec_set(const Stmt& s, std::string& out);
  void define_macro(const Stmt& s);
  void exec_call_block(const Stmt& s, std::string& out);
  void assign(const std::vector<std::string>& targets, const Value& value, SourcePos pos);
  std::string capture(const Body& body);
  void append(std::string& out, std::string_view text);

  Value eval(const Expr& e);
  Value eval_binary(const Expr& e);
  Value eval_compare(const Expr& e);
  Value eval_call(const Expr& e);
  Value eval_filter(const Expr& e, const Value* block_input);
  CallArgs eval_args(const Expr& e);
  Value make_macro(const Stmt& s, std::shared_ptr<Scope> closure);
  Value make_loop_object(const std::vector<Value>& items, int depth, const Value& recurse);
  static void update_loop_object(Value& loop, const std::vector<Value>& items, size_t i);

  RenderLimits limits_;
  std::shared_ptr<Scope> scope_;
  std::vector<std::shared_ptr<Scope>> macro_closures_;  // every scope a macro captured
  size_t iterations_ = 0;
  size_t output_written_ = 0;
  int call_depth_ = 0;
  int eval_depth_ = 0;
};

// Python iteration: list items, dict keys, string characters; undefined iterates as empty.
// Throws JinjaError for non-iterables.
std::vector<Value> iterate(const Value& v);

// Binary operators with Python semantics (+ - * / // % **), throwing JinjaError on type errors.
Value arithmetic(const std::string& op, const Value& a, const Value& b, size_t max_bytes);
// Python ordering (<): numbers, strings, sequences; throws JinjaError otherwise.
bool less_than(const Value& a, const Value& b);
// Python slicing obj[start:stop:step] of a string (by code points) or list; None = omitted.
Value slice_value(const Value& obj, const Value& start, const Value& stop, const Value& step);
// Python `needle in container`.
bool contains(const Value& container, const Value& needle);

}  // namespace tessera::chat::jinja
