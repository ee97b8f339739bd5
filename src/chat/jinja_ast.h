// The syntax tree the Jinja parser builds and the interpreter walks. Plain structs; every node
// keeps its source position for error messages.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/jinja_error.h"
#include "chat/jinja_value.h"

namespace tessera::chat::jinja {

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct KeywordArg {
  std::string name;
  ExprPtr value;
};

struct Expr {
  enum class Kind {
    kConst,      // value
    kName,       // name
    kList,       // children
    kTuple,      // children
    kDict,       // children: key, value, key, value...
    kGetAttr,    // children[0] . name
    kGetItem,    // children[0] [ children[1] ]
    kSlice,      // children: start, stop, step (null = omitted)
    kCall,       // children[0] ( args, kwargs )
    kFilter,     // children[0] | name(args, kwargs); children[0] null in `{% filter %}` blocks
    kTest,       // children[0] is [not] name(args)
    kUnary,      // op: "-", "+", "not"; children[0]
    kBinary,     // op: + - * / // % ** ~ and or in "not in"; children[0], children[1]
    kCompare,    // children[0] then (ops[i], children[i+1]) — chained like Python
    kCondition,  // children: then, condition, else (else may be null)
  };
  Kind kind;
  SourcePos pos;
  Value value;
  std::string name;
  std::string op;
  std::vector<std::string> ops;
  std::vector<ExprPtr> children;
  std::vector<ExprPtr> args;
  std::vector<KeywordArg> kwargs;
  bool negated = false;  // `is not`
};

struct MacroParam {
  std::string name;
  ExprPtr default_value;  // null = required
};

struct Stmt {
  enum class Kind {
    kText,       // text
    kOutput,     // {{ expr }}
    kIf,         // branches: (condition, body)...; else_body
    kFor,        // targets in expr [if filter]: body else else_body; recursive
    kSet,        // targets = expr, or target.attr = expr (namespace), or block set with filter
    kMacro,      // name(params): body
    kCallBlock,  // call [(params)] expr: body
    kFilterBlock,
    kBreak,
    kContinue,
    kScope,  // generation / with blocks: body (with: assignments first)
  };
  Kind kind;
  SourcePos pos;
  std::string text;
  ExprPtr expr;
  ExprPtr filter;  // for-loop `if`, set-block filter, filter-block filter chain
  std::vector<std::string> targets;
  std::string attribute;  // `set ns.attr = ...`
  std::vector<std::pair<ExprPtr, Body>> branches;
  Body body;
  Body else_body;
  std::vector<MacroParam> params;
  std::vector<std::pair<std::string, ExprPtr>> assignments;  // `with a = 1, b = 2`
  bool recursive = false;
  bool new_scope = false;  // kScope: `with` opens a scope, `generation` does not
};

}  // namespace tessera::chat::jinja
