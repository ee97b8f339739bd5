#include "chat/jinja_parser.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <set>

#include "chat/jinja_builtins.h"
#include "chat/jinja_lexer.h"

namespace tessera::chat::jinja {
namespace {

constexpr int kMaxNesting = 200;

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  Body parse() {
    Body body = parse_body({});
    if (cur().kind != TokenKind::kEnd) error("unexpected tag");
    return body;
  }

 private:
  // ---- token helpers ----
  const Token& cur() const { return tokens_[pos_]; }
  const Token& peek(size_t n = 1) const { return tokens_[std::min(pos_ + n, tokens_.size() - 1)]; }
  const Token& advance() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }
  [[noreturn]] void error(const std::string& message) const { fail(message, cur().pos); }
  bool is_op(std::string_view op) const { return cur().kind == TokenKind::kOperator && cur().value == op; }
  bool is_name(std::string_view name) const { return cur().kind == TokenKind::kName && cur().value == name; }
  bool skip_op(std::string_view op) {
    if (!is_op(op)) return false;
    advance();
    return true;
  }
  bool skip_name(std::string_view name) {
    if (!is_name(name)) return false;
    advance();
    return true;
  }
  void expect_op(std::string_view op) {
    if (!skip_op(op)) error(fmt::format("expected '{}', got {}", op, describe(cur())));
  }
  void expect_block_end() {
    if (cur().kind != TokenKind::kBlockEnd)
      error(fmt::format("expected end of statement block, got {}", describe(cur())));
    advance();
  }
  std::string expect_identifier() {
    if (cur().kind != TokenKind::kName) error(fmt::format("expected a name, got {}", describe(cur())));
    return advance().value;
  }
  static std::string describe(const Token& t) {
    switch (t.kind) {
      case TokenKind::kEnd: return "end of template";
      case TokenKind::kBlockEnd: return "'%}'";
      case TokenKind::kVariableEnd: return "'}}'";
      case TokenKind::kString: return "a string";
      default: return "'" + t.value + "'";
    }
  }

  struct DepthGuard {
    Parser& p;
    explicit DepthGuard(Parser& parser) : p(parser) {
      if (++p.depth_ > kMaxNesting) p.error("template nesting too deep");
    }
    ~DepthGuard() { --p.depth_; }
  };

  ExprPtr node(Expr::Kind kind, SourcePos pos) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->pos = pos;
    return e;
  }

  // ---- statements ----
  // Parses until a `{% name %}` whose name is in `end_tags` (left unconsumed) or the end.
  Body parse_body(const std::set<std::string>& end_tags) {
    Body body;
    DepthGuard guard(*this);
    while (cur().kind != TokenKind::kEnd) {
      const Token& t = cur();
      if (t.kind == TokenKind::kText) {
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::kText;
        s->pos = t.pos;
        s->text = t.value;
        body.push_back(std::move(s));
        advance();
      } else if (t.kind == TokenKind::kVariableBegin) {
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::kOutput;
        s->pos = t.pos;
        advance();
        s->expr = parse_tuple_expression(true);
        if (cur().kind != TokenKind::kVariableEnd) error(fmt::format("expected '}}}}', got {}", describe(cur())));
        advance();
        body.push_back(std::move(s));
      } else if (t.kind == TokenKind::kBlockBegin) {
        const Token& name = peek();
        if (name.kind == TokenKind::kName && end_tags.count(name.value)) return body;
        advance();
        body.push_back(parse_statement());
      } else {
        error("unexpected token");
      }
    }
    if (!end_tags.empty()) {
      std::string expected;
      size_t i = 0;
      for (const std::string& tag : end_tags) {
        expected += (i == 0 ? "" : i + 1 == end_tags.size() ? " or " : ", ") + ("'" + tag + "'");
        ++i;
      }
      error("unexpected end of template; expected " + expected);
    }
    return body;
  }

  void expect_end_tag(std::string_view name) {
    // cur() is `{%`, then the name
    advance();
    if (!skip_name(name)) error(fmt::format("expected '{}'", name));
    expect_block_end();
  }

  StmtPtr new_stmt(Stmt::Kind kind, SourcePos pos) {
    auto s = std::make_unique<Stmt>();
    s->kind = kind;
    s->pos = pos;
    return s;
  }

  StmtPtr parse_statement() {
    const Token& t = cur();
    if (t.kind != TokenKind::kName) error("tag name expected");
    const std::string name = t.value;
    const SourcePos pos = t.pos;
    advance();
    if (name == "if") return parse_if(pos);
    if (name == "for") return parse_for(pos);
    if (name == "set") return parse_set(pos);
    if (name == "macro") return parse_macro(pos);
    if (name == "call") return parse_call_block(pos);
    if (name == "filter") return parse_filter_block(pos);
    if (name == "with") return parse_with(pos);
    if (name == "generation") {
      expect_block_end();
      StmtPtr s = new_stmt(Stmt::Kind::kScope, pos);
      s->body = parse_body({"endgeneration"});
      expect_end_tag("endgeneration");
      return s;
    }
    if (name == "break" || name == "continue") {
      if (loop_depth_ == 0) fail(fmt::format("'{}' outside of a loop", name), pos);
      expect_block_end();
      return new_stmt(name == "break" ? Stmt::Kind::kBreak : Stmt::Kind::kContinue, pos);
    }
    if (name == "include" || name == "import" || name == "from" || name == "extends" || name == "block") {
      fail(fmt::format("'{}' is not supported: chat templates cannot load other templates", name), pos);
    }
    fail(fmt::format("encountered unknown tag '{}'", name), pos);
  }

  StmtPtr parse_if(SourcePos pos) {
    StmtPtr s = new_stmt(Stmt::Kind::kIf, pos);
    ++soft_;
    while (true) {
      ExprPtr cond = parse_tuple_expression(false);
      expect_block_end();
      Body body = parse_body({"elif", "else", "endif"});
      s->branches.emplace_back(std::move(cond), std::move(body));
      advance();  // {%
      const std::string tag = advance().value;
      if (tag == "elif") continue;
      if (tag == "else") {
        expect_block_end();
        s->else_body = parse_body({"endif"});
        expect_end_tag("endif");
      } else {
        expect_block_end();
      }
      break;
    }
    --soft_;
    return s;
  }

  void parse_assign_targets(std::vector<std::string>& targets) {
    const bool paren = skip_op("(");
    targets.push_back(expect_identifier());
    while (skip_op(",")) {
      if (cur().kind != TokenKind::kName || is_name("in")) break;
      targets.push_back(expect_identifier());
    }
    if (paren) expect_op(")");
  }

  StmtPtr parse_for(SourcePos pos) {
    StmtPtr s = new_stmt(Stmt::Kind::kFor, pos);
    parse_assign_targets(s->targets);
    if (!skip_name("in")) error("expected 'in' in for loop");
    const int saved_soft = soft_;
    s->expr = parse_tuple_expression(false, /*with_condexpr=*/false);
    if (skip_name("if")) s->filter = parse_tuple_expression(false);
    if (skip_name("recursive")) s->recursive = true;
    expect_block_end();
    soft_ = 0;
    ++loop_depth_;
    s->body = parse_body({"endfor", "else"});
    --loop_depth_;
    if (peek().value == "else") {
      advance();
      advance();
      expect_block_end();
      s->else_body = parse_body({"endfor"});
    }
    expect_end_tag("endfor");
    soft_ = saved_soft;
    return s;
  }

  StmtPtr parse_set(SourcePos pos) {
    StmtPtr s = new_stmt(Stmt::Kind::kSet, pos);
    if (cur().kind == TokenKind::kName && peek().kind == TokenKind::kOperator && peek().value == ".") {
      s->targets.push_back(advance().value);
      advance();
      s->attribute = expect_identifier();
    } else {
      parse_assign_targets(s->targets);
    }
    if (skip_op("=")) {
      s->expr = parse_tuple_expression(false);
      expect_block_end();
      return s;
    }
    if (!s->attribute.empty() || s->targets.size() != 1) error("expected '='");
    if (is_op("|")) s->filter = parse_filter_chain(nullptr);
    expect_block_end();
    const int saved_soft = soft_;
    soft_ = 0;
    s->body = parse_body({"endset"});
    soft_ = saved_soft;
    expect_end_tag("endset");
    return s;
  }

  void parse_params(std::vector<MacroParam>& params) {
    expect_op("(");
    while (!is_op(")")) {
      if (!params.empty()) expect_op(",");
      if (is_op(")")) break;
      MacroParam p;
      p.name = expect_identifier();
      if (skip_op("=")) p.default_value = parse_expression();
      params.push_back(std::move(p));
    }
    expect_op(")");
  }

  StmtPtr parse_macro(SourcePos pos) {
    StmtPtr s = new_stmt(Stmt::Kind::kMacro, pos);
    s->targets.push_back(expect_identifier());
    parse_params(s->params);
    expect_block_end();
    const int saved_soft = soft_, saved_loop = loop_depth_;
    soft_ = loop_depth_ = 0;
    s->body = parse_body({"endmacro"});
    soft_ = saved_soft;
    loop_depth_ = saved_loop;
    expect_end_tag("endmacro");
    return s;
  }

  StmtPtr parse_call_block(SourcePos pos) {
    StmtPtr s = new_stmt(Stmt::Kind::kCallBlock, pos);
    if (is_op("(")) parse_params(s->params);
    s->expr = parse_expression();
    if (s->expr->kind != Expr::Kind::kCall) fail("expected a call after 'call'", s->expr->pos);
    expect_block_end();
    const int saved_soft = soft_, saved_loop = loop_depth_;
    soft_ = loop_depth_ = 0;
    s->body = parse_body({"endcall"});
    soft_ = saved_soft;
    loop_depth_ = saved_loop;
    expect_end_tag("endcall");
    return s;
  }

  StmtPtr parse_filter_block(SourcePos pos) {
    StmtPtr s = new_stmt(Stmt::Kind::kFilterBlock, pos);
    s->filter = parse_filter_chain(nullptr, /*first_without_pipe=*/true);
    expect_block_end();
    s->body = parse_body({"endfilter"});
    expect_end_tag("endfilter");
    return s;
  }

  StmtPtr parse_with(SourcePos pos) {
    StmtPtr s = new_stmt(Stmt::Kind::kScope, pos);
    s->new_scope = true;
    while (cur().kind != TokenKind::kBlockEnd) {
      if (!s->assignments.empty()) expect_op(",");
      std::string target = expect_identifier();
      expect_op("=");
      s->assignments.emplace_back(std::move(target), parse_expression());
    }
    expect_block_end();
    s->body = parse_body({"endwith"});
    expect_end_tag("endwith");
    return s;
  }

  // ---- expressions ----
  // `a, b` makes a tuple where jinja2 allows one (print statements, set, for, if).
  ExprPtr parse_tuple_expression(bool allow_empty, bool with_condexpr = true) {
    (void)allow_empty;
    const SourcePos pos = cur().pos;
    ExprPtr first = with_condexpr ? parse_expression() : parse_or();
    if (!is_op(",")) return first;
    ExprPtr tuple = node(Expr::Kind::kTuple, pos);
    tuple->children.push_back(std::move(first));
    while (skip_op(",")) {
      if (cur().kind == TokenKind::kBlockEnd || cur().kind == TokenKind::kVariableEnd || is_op(")") || is_name("if") ||
          is_name("recursive")) {
        break;
      }
      tuple->children.push_back(with_condexpr ? parse_expression() : parse_or());
    }
    return tuple;
  }

  ExprPtr parse_expression() {
    DepthGuard guard(*this);
    const SourcePos pos = cur().pos;
    ExprPtr expr = parse_or();
    while (is_name("if")) {
      advance();
      ++soft_;
      ExprPtr cond = node(Expr::Kind::kCondition, pos);
      ExprPtr test = parse_or();
      ExprPtr otherwise = skip_name("else") ? parse_expression() : nullptr;
      --soft_;
      cond->children.push_back(std::move(expr));
      cond->children.push_back(std::move(test));
      cond->children.push_back(std::move(otherwise));
      expr = std::move(cond);
    }
    return expr;
  }

  ExprPtr binary(std::string op, ExprPtr left, ExprPtr right, SourcePos pos) {
    ExprPtr e = node(Expr::Kind::kBinary, pos);
    e->op = std::move(op);
    e->children.push_back(std::move(left));
    e->children.push_back(std::move(right));
    return e;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (is_name("or")) {
      const SourcePos pos = advance().pos;
      left = binary("or", std::move(left), parse_and(), pos);
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (is_name("and")) {
      const SourcePos pos = advance().pos;
      left = binary("and", std::move(left), parse_not(), pos);
    }
    return left;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      DepthGuard guard(*this);
      ExprPtr e = node(Expr::Kind::kUnary, advance().pos);
      e->op = "not";
      e->children.push_back(parse_not());
      return e;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    const SourcePos pos = cur().pos;
    ExprPtr first = parse_math1();
    ExprPtr cmp;
    while (true) {
      std::string op;
      if (cur().kind == TokenKind::kOperator && (cur().value == "==" || cur().value == "!=" || cur().value == "<" ||
                                                 cur().value == "<=" || cur().value == ">" || cur().value == ">=")) {
        op = advance().value;
      } else if (is_name("in")) {
        advance();
        op = "in";
      } else if (is_name("not") && peek().kind == TokenKind::kName && peek().value == "in") {
        advance();
        advance();
        op = "not in";
      } else {
        break;
      }
      if (!cmp) {
        cmp = node(Expr::Kind::kCompare, pos);
        cmp->children.push_back(std::move(first));
      }
      cmp->ops.push_back(op);
      cmp->children.push_back(parse_math1());
    }
    return cmp ? std::move(cmp) : std::move(first);
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (is_op("+") || is_op("-")) {
      const Token& t = advance();
      left = binary(t.value, std::move(left), parse_concat(), t.pos);
    }
    return left;
  }

  ExprPtr parse_concat() {
    ExprPtr left = parse_math2();
    while (is_op("~")) {
      const SourcePos pos = advance().pos;
      left = binary("~", std::move(left), parse_math2(), pos);
    }
    return left;
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const Token& t = advance();
      left = binary(t.value, std::move(left), parse_pow(), t.pos);
    }
    return left;
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    while (is_op("**")) {
      const SourcePos pos = advance().pos;
      left = binary("**", std::move(left), parse_unary(true), pos);
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    DepthGuard guard(*this);
    ExprPtr e;
    if (is_op("-") || is_op("+")) {
      const Token& t = advance();
      e = node(Expr::Kind::kUnary, t.pos);
      e->op = t.value;
      e->children.push_back(parse_unary(false));
    } else {
      e = parse_primary();
    }
    e = parse_postfix(std::move(e));
    if (with_filter) e = parse_filter_expr(std::move(e));
    return e;
  }

  ExprPtr parse_primary() {
    const Token& t = cur();
    switch (t.kind) {
      case TokenKind::kName: {
        advance();
        ExprPtr e = node(Expr::Kind::kConst, t.pos);
        if (t.value == "true" || t.value == "True") {
          e->value = Value(true);
        } else if (t.value == "false" || t.value == "False") {
          e->value = Value(false);
        } else if (t.value == "none" || t.value == "None") {
          e->value = Value::none();
        } else {
          e->kind = Expr::Kind::kName;
          e->name = t.value;
        }
        return e;
      }
      case TokenKind::kString: {
        ExprPtr e = node(Expr::Kind::kConst, t.pos);
        std::string s;
        while (cur().kind == TokenKind::kString) s += advance().value;  // adjacent literals concatenate
        e->value = Value(std::move(s));
        return e;
      }
      case TokenKind::kInteger: {
        ExprPtr e = node(Expr::Kind::kConst, t.pos);
        int64_t v = 0;
        auto res = std::from_chars(t.value.data(), t.value.data() + t.value.size(), v);
        e->value = res.ec == std::errc() ? Value(v) : Value(std::strtod(t.value.c_str(), nullptr));
        advance();
        return e;
      }
      case TokenKind::kFloat: {
        ExprPtr e = node(Expr::Kind::kConst, t.pos);
        e->value = Value(std::strtod(t.value.c_str(), nullptr));
        advance();
        return e;
      }
      case TokenKind::kOperator:
        if (t.value == "(") return parse_paren();
        if (t.value == "[") return parse_list();
        if (t.value == "{") return parse_dict();
        break;
      default: break;
    }
    error(fmt::format("unexpected {}", describe(t)));
  }

  ExprPtr parse_paren() {
    const SourcePos pos = advance().pos;
    if (skip_op(")")) return node(Expr::Kind::kTuple, pos);
    ExprPtr first = parse_expression();
    if (skip_op(")")) return first;
    ExprPtr tuple = node(Expr::Kind::kTuple, pos);
    tuple->children.push_back(std::move(first));
    while (skip_op(",")) {
      if (is_op(")")) break;
      tuple->children.push_back(parse_expression());
    }
    expect_op(")");
    return tuple;
  }

  ExprPtr parse_list() {
    ExprPtr list = node(Expr::Kind::kList, advance().pos);
    while (!is_op("]")) {
      if (!list->children.empty()) expect_op(",");
      if (is_op("]")) break;
      list->children.push_back(parse_expression());
    }
    expect_op("]");
    return list;
  }

  ExprPtr parse_dict() {
    ExprPtr dict = node(Expr::Kind::kDict, advance().pos);
    while (!is_op("}")) {
      if (!dict->children.empty()) expect_op(",");
      if (is_op("}")) break;
      dict->children.push_back(parse_expression());
      expect_op(":");
      dict->children.push_back(parse_expression());
    }
    expect_op("}");
    return dict;
  }

  ExprPtr parse_postfix(ExprPtr e) {
    while (true) {
      if (is_op(".")) {
        const SourcePos pos = advance().pos;
        ExprPtr get = node(Expr::Kind::kGetAttr, pos);
        if (cur().kind == TokenKind::kName) {
          get->name = advance().value;
        } else if (cur().kind == TokenKind::kInteger) {
          get->kind = Expr::Kind::kGetItem;
          ExprPtr index = node(Expr::Kind::kConst, cur().pos);
          index->value = Value(int64_t(std::stoll(advance().value)));
          get->children.push_back(std::move(e));
          get->children.push_back(std::move(index));
          e = std::move(get);
          continue;
        } else {
          error("expected a name after '.'");
        }
        get->children.push_back(std::move(e));
        e = std::move(get);
      } else if (is_op("[")) {
        e = parse_subscript(std::move(e));
      } else if (is_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr target) {
    const SourcePos pos = advance().pos;
    ExprPtr get = node(Expr::Kind::kGetItem, pos);
    get->children.push_back(std::move(target));
    ExprPtr parts[3];
    int part = 0;
    bool is_slice = false;
    while (!is_op("]")) {
      if (is_op(":")) {
        advance();
        is_slice = true;
        if (++part > 2) error("too many ':' in slice");
        continue;
      }
      if (parts[part]) error("expected ']'");
      parts[part] = parse_expression();
      if (!is_slice && is_op(",")) error("tuple subscripts are not supported");
    }
    advance();
    if (!is_slice) {
      if (!parts[0]) error("expected an index");
      get->children.push_back(std::move(parts[0]));
      return get;
    }
    ExprPtr slice = node(Expr::Kind::kSlice, pos);
    for (auto& p : parts) slice->children.push_back(std::move(p));
    get->children.push_back(std::move(slice));
    return get;
  }

  void parse_call_args(Expr& call) {
    expect_op("(");
    while (!is_op(")")) {
      if (!call.args.empty() || !call.kwargs.empty()) expect_op(",");
      if (is_op(")")) break;
      if (is_op("*") || is_op("**")) error("*args and **kwargs in calls are not supported");
      if (cur().kind == TokenKind::kName && peek().kind == TokenKind::kOperator && peek().value == "=") {
        std::string name = advance().value;
        advance();
        call.kwargs.push_back({std::move(name), parse_expression()});
      } else {
        if (!call.kwargs.empty()) error("positional argument follows keyword argument");
        call.args.push_back(parse_expression());
      }
    }
    expect_op(")");
  }

  ExprPtr parse_call(ExprPtr callee) {
    ExprPtr call = node(Expr::Kind::kCall, callee->pos);
    call->children.push_back(std::move(callee));
    parse_call_args(*call);
    return call;
  }

  std::string parse_dotted_name() {
    std::string name = expect_identifier();
    while (is_op(".") && peek().kind == TokenKind::kName) {
      advance();
      name += "." + advance().value;
    }
    return name;
  }

  ExprPtr parse_filter(ExprPtr input, bool skip_pipe) {
    const SourcePos pos = skip_pipe ? cur().pos : advance().pos;
    ExprPtr f = node(Expr::Kind::kFilter, pos);
    f->name = parse_dotted_name();
    if (soft_ == 0 && !is_known_filter(f->name)) fail(fmt::format("No filter named '{}'.", f->name), pos);
    if (is_op("(")) parse_call_args(*f);
    f->children.push_back(std::move(input));
    return f;
  }

  // `| a | b(x)` chains; `input` null stands for the block body (`{% filter %}`, `{% set x | f %}`).
  ExprPtr parse_filter_chain(ExprPtr input, bool first_without_pipe = false) {
    ExprPtr e = std::move(input);
    if (first_without_pipe) e = parse_filter(std::move(e), true);
    while (is_op("|")) e = parse_filter(std::move(e), false);
    return e;
  }

  ExprPtr parse_test(ExprPtr input) {
    const SourcePos pos = advance().pos;  // `is`
    ExprPtr t = node(Expr::Kind::kTest, pos);
    t->negated = skip_name("not");
    t->name = parse_dotted_name();
    if (soft_ == 0 && !is_known_test(t->name)) fail(fmt::format("No test named '{}'.", t->name), pos);
    if (is_op("(")) {
      parse_call_args(*t);
    } else if ((cur().kind == TokenKind::kName || cur().kind == TokenKind::kString ||
                cur().kind == TokenKind::kInteger || cur().kind == TokenKind::kFloat || is_op("(") || is_op("[") ||
                is_op("{")) &&
               !is_name("else") && !is_name("or") && !is_name("and")) {
      if (is_name("is")) error("You cannot chain multiple tests with is");
      t->args.push_back(parse_postfix(parse_primary()));
    }
    t->children.push_back(std::move(input));
    return t;
  }

  ExprPtr parse_filter_expr(ExprPtr e) {
    while (true) {
      if (is_op("|")) {
        e = parse_filter(std::move(e), false);
      } else if (is_name("is")) {
        e = parse_test(std::move(e));
      } else if (is_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
  int soft_ = 0;        // inside an `if` or a conditional expression: unknown filters fail at runtime
  int loop_depth_ = 0;  // `break`/`continue` allowed
};

}  // namespace

Body parse_template(std::string_view source) {
  return Parser(tokenize_template(source)).parse();
}

}  // namespace tessera::chat::jinja
