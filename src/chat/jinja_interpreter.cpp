#include "chat/jinja_interpreter.h"

#include <fmt/format.h>

#include <cmath>

#include "chat/jinja_builtins.h"

namespace tessera::chat::jinja {

const Value* Scope::lookup(const std::string& name) const {
  for (const Scope* s = this; s; s = s->parent.get()) {
    auto it = s->vars.find(name);
    if (it != s->vars.end()) return &it->second;
  }
  return nullptr;
}

namespace {

[[noreturn]] void fail_undefined(const Value& v) {
  if (v.is_unsafe()) fail(v.undefined_hint());
  fail(v.undefined_hint().empty() ? "value is undefined" : v.undefined_hint());
}

std::string type_repr(const Value& obj) {
  if (obj.is_none()) return "None";
  return obj.type_name() + " object";
}

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

Value int_arith(char op, int64_t a, int64_t b) {
  int64_t r = 0;
  bool overflow = false;
  switch (op) {
    case '+': overflow = __builtin_add_overflow(a, b, &r); break;
    case '-': overflow = __builtin_sub_overflow(a, b, &r); break;
    case '*': overflow = __builtin_mul_overflow(a, b, &r); break;
    default: break;
  }
  if (overflow)
    return Value(op == '+' ? double(a) + double(b) : op == '-' ? double(a) - double(b) : double(a) * double(b));
  return Value(r);
}

Value repeat(const Value& seq, int64_t n, size_t max_bytes) {
  if (n <= 0) return seq.is_string() ? Value("") : Value::list({}, seq.is_tuple());
  if (seq.is_string()) {
    if (seq.as_string().size() * uint64_t(n) > max_bytes) fail("string repetition result too large");
    std::string out;
    for (int64_t i = 0; i < n; ++i) out += seq.as_string();
    return seq.is_markup() ? Value::markup(std::move(out)) : Value(std::move(out));
  }
  if (seq.items().size() * uint64_t(n) > max_bytes / 8) fail("list repetition result too large");
  std::vector<Value> out;
  for (int64_t i = 0; i < n; ++i) out.insert(out.end(), seq.items().begin(), seq.items().end());
  return Value::list(std::move(out), seq.is_tuple());
}

}  // namespace

Value arithmetic(const std::string& op, const Value& a, const Value& b, size_t max_bytes) {
  if (a.is_undefined()) fail_undefined(a);
  if (b.is_undefined()) fail_undefined(b);
  if (op == "%" && a.is_string()) return Value(percent_format(a.as_string(), b));
  if (a.is_number() && b.is_number()) {
    const bool ints = a.is_integral() && b.is_integral();
    if (op == "+" || op == "-" || op == "*") {
      if (ints) return int_arith(op[0], a.as_int(), b.as_int());
      const double x = a.as_float(), y = b.as_float();
      return Value(op == "+" ? x + y : op == "-" ? x - y : x * y);
    }
    if (op == "/") {
      if (b.as_float() == 0) fail("division by zero");
      return Value(a.as_float() / b.as_float());
    }
    if (op == "//" || op == "%") {
      if (b.as_float() == 0) fail(op == "//" ? "integer division or modulo by zero" : "modulo by zero");
      if (ints) {
        if (b.as_int() == -1 && a.as_int() == INT64_MIN) fail("integer overflow");
        const int64_t q = floor_div(a.as_int(), b.as_int());
        return op == "//" ? Value(q) : Value(a.as_int() - q * b.as_int());
      }
      const double x = a.as_float(), y = b.as_float();
      double m = std::fmod(x, y);
      if (m != 0 && ((m < 0) != (y < 0))) m += y;
      return op == "//" ? Value(std::floor(x / y)) : Value(m);
    }
    if (op == "**") {
      if (ints && b.as_int() >= 0) {
        const double r = std::pow(double(a.as_int()), double(b.as_int()));
        if (std::fabs(r) < 9.0e18) {
          int64_t acc = 1;
          for (int64_t i = 0; i < b.as_int(); ++i) acc *= a.as_int();
          return Value(acc);
        }
        return Value(r);
      }
      if (a.as_float() == 0 && b.as_float() < 0) fail("0.0 cannot be raised to a negative power");
      return Value(std::pow(a.as_float(), b.as_float()));
    }
  }
  if (op == "+") {
    if (a.is_string() && b.is_string()) {
      if (a.as_string().size() + b.as_string().size() > max_bytes) fail("string too large");
      if (a.is_markup() || b.is_markup()) {  // Markup.__add__ / __radd__ escape the plain operand
        return Value::markup((a.is_markup() ? a.as_string() : html_escape(a.as_string())) +
                             (b.is_markup() ? b.as_string() : html_escape(b.as_string())));
      }
      return Value(a.as_string() + b.as_string());
    }
    if (a.is_list() && b.is_list() && a.is_tuple() == b.is_tuple()) {
      std::vector<Value> items = a.items();
      items.insert(items.end(), b.items().begin(), b.items().end());
      return Value::list(std::move(items), a.is_tuple());
    }
  }
  if (op == "*") {
    if ((a.is_string() || a.is_list()) && b.is_integral()) return repeat(a, b.as_int(), max_bytes);
    if ((b.is_string() || b.is_list()) && a.is_integral()) return repeat(b, a.as_int(), max_bytes);
  }
  fail(fmt::format("unsupported operand type(s) for {}: '{}' and '{}'", op, a.type_name(), b.type_name()));
}

bool less_than(const Value& a, const Value& b) {
  if (a.is_undefined()) fail_undefined(a);
  if (b.is_undefined()) fail_undefined(b);
  if (a.is_number() && b.is_number()) {
    if (a.is_integral() && b.is_integral()) return a.as_int() < b.as_int();
    return a.as_float() < b.as_float();
  }
  if (a.is_string() && b.is_string()) return a.as_string() < b.as_string();
  if (a.is_list() && b.is_list() && a.is_tuple() == b.is_tuple()) {
    const auto &x = a.items(), &y = b.items();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (equals(x[i], y[i])) continue;
      return less_than(x[i], y[i]);
    }
    return x.size() < y.size();
  }
  fail(fmt::format("'<' not supported between instances of '{}' and '{}'", a.type_name(), b.type_name()));
}

bool contains(const Value& container, const Value& needle) {
  if (container.is_string()) {
    if (needle.is_undefined()) fail_undefined(needle);
    if (!needle.is_string()) {
      fail(fmt::format("'in <string>' requires string as left operand, not {}", needle.type_name()));
    }
    return container.as_string().find(needle.as_string()) != std::string::npos;
  }
  if (container.is_list()) {
    for (const Value& v : container.items()) {
      if (equals(v, needle)) return true;
    }
    return false;
  }
  if (container.is_dict()) {
    if (!needle.hash_key() && !needle.is_undefined()) fail(fmt::format("unhashable type: '{}'", needle.type_name()));
    return container.dict_data().find(needle) != nullptr;
  }
  if (container.is_undefined()) return false;
  fail(fmt::format("argument of type '{}' is not iterable", container.type_name()));
}

std::vector<Value> iterate(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: return {};
    case Value::Kind::kList: return v.items();
    case Value::Kind::kDict: {
      if (v.is_namespace()) break;
      std::vector<Value> keys;
      for (const auto& [k, _] : v.dict_data().entries) keys.push_back(k);
      return keys;
    }
    case Value::Kind::kString: {
      std::vector<Value> chars;
      const std::string& s = v.as_string();
      for (size_t i = 0; i < s.size();) {
        size_t len = 1;
        while (i + len < s.size() && (uint8_t(s[i + len]) & 0xC0) == 0x80) ++len;
        chars.emplace_back(s.substr(i, len));
        i += len;
      }
      return chars;
    }
    default: break;
  }
  fail(fmt::format("'{}' object is not iterable", v.type_name()));
}

Interpreter::Interpreter(const RenderLimits& limits, const Value& globals, const Value& context) : limits_(limits) {
  auto base = std::make_shared<Scope>();
  for (const Value* d : {&globals, &context}) {
    if (!d->is_dict()) continue;
    for (const auto& [k, v] : d->dict_data().entries) {
      if (k.is_string()) base->vars[k.as_string()] = v;
    }
  }
  scope_ = std::make_shared<Scope>();
  scope_->parent = std::move(base);
}

Interpreter::~Interpreter() {
  // Clearing the variables drops the macros, and with them their references to these scopes.
  for (const std::shared_ptr<Scope>& scope : macro_closures_) scope->vars.clear();
}

std::string Interpreter::render(const Body& body) {
  std::string out;
  exec_body(body, out);
  return out;
}

void Interpreter::check_size(size_t bytes) const {
  if (bytes > limits_.max_output_bytes) {
    fail(fmt::format("output exceeds the limit of {} bytes", limits_.max_output_bytes));
  }
}

void Interpreter::count_iteration() {
  if (++iterations_ > limits_.max_loop_iterations) {
    fail(fmt::format("loop iteration limit ({}) exceeded", limits_.max_loop_iterations));
  }
}

void Interpreter::append(std::string& out, std::string_view text) {
  output_written_ += text.size();
  check_size(output_written_);
  out += text;
}

Interpreter::Flow Interpreter::exec_body(const Body& body, std::string& out) {
  for (const StmtPtr& s : body) {
    const Flow flow = exec(*s, out);
    if (flow != Flow::kNormal) return flow;
  }
  return Flow::kNormal;
}

Interpreter::Flow Interpreter::exec(const Stmt& s, std::string& out) {
  try {
    switch (s.kind) {
      case Stmt::Kind::kText: append(out, s.text); break;
      case Stmt::Kind::kOutput: {
        const Value v = eval(*s.expr);
        if (v.is_unsafe()) fail_undefined(v);
        append(out, to_str(v));
        break;
      }
      case Stmt::Kind::kIf: {
        Flow flow = Flow::kNormal;
        exec_if(s, out, flow);
        return flow;
      }
      case Stmt::Kind::kFor: exec_for(s, out); break;
      case Stmt::Kind::kSet: exec_set(s, out); break;
      case Stmt::Kind::kMacro: define_macro(s); break;
      case Stmt::Kind::kCallBlock: exec_call_block(s, out); break;
      case Stmt::Kind::kFilterBlock: {
        const Value body(capture(s.body));
        append(out, to_str(eval_filter(*s.filter, &body)));
        break;
      }
      case Stmt::Kind::kBreak: return Flow::kBreak;
      case Stmt::Kind::kContinue: return Flow::kContinue;
      case Stmt::Kind::kScope: {
        if (!s.new_scope) return exec_body(s.body, out);
        auto inner = std::make_shared<Scope>();
        inner->parent = scope_;
        for (const auto& [name, expr] : s.assignments) inner->vars[name] = eval(*expr);
        std::swap(scope_, inner);
        const Flow flow = exec_body(s.body, out);
        std::swap(scope_, inner);
        return flow;
      }
    }
  } catch (JinjaError& err) {
    if (err.pos.line == 0) err.pos = s.pos;
    throw;
  }
  return Flow::kNormal;
}

void Interpreter::exec_if(const Stmt& s, std::string& out, Flow& flow) {
  for (const auto& [cond, body] : s.branches) {
    if (eval(*cond).truthy()) {
      flow = exec_body(body, out);
      return;
    }
  }
  flow = exec_body(s.else_body, out);
}

void Interpreter::exec_for(const Stmt& s, std::string& out) {
  const Value iterable = eval(*s.expr);
  std::vector<Value> items = iterate(iterable);
  run_loop(s, std::move(items), 1, out);
}

void Interpreter::run_loop(const Stmt& s, std::vector<Value> items, int depth, std::string& out) {
  if (depth > limits_.max_call_depth) fail("recursive loop too deep");
  auto outer = scope_;
  if (s.filter) {
    std::vector<Value> kept;
    for (Value& item : items) {
      count_iteration();
      scope_ = std::make_shared<Scope>();
      scope_->parent = outer;
      assign(s.targets, item, s.pos);
      const bool keep = eval(*s.filter).truthy();
      scope_ = outer;
      if (keep) kept.push_back(std::move(item));
    }
    items = std::move(kept);
  }
  Value recurse;
  if (s.recursive) {
    recurse = Value::callable("loop", [this, &s, depth](Interpreter&, CallArgs& args) {
      if (args.positional.size() != 1) fail("loop() takes exactly one argument");
      std::string inner;
      run_loop(s, iterate(args.positional[0]), depth + 1, inner);
      return Value(std::move(inner));
    });
  }
  Value loop = items.empty() ? Value() : make_loop_object(items, depth, recurse);
  for (size_t i = 0; i < items.size(); ++i) {
    count_iteration();
    scope_ = std::make_shared<Scope>();
    scope_->parent = outer;
    update_loop_object(loop, items, i);
    scope_->vars["loop"] = loop;
    try {
      assign(s.targets, items[i], s.pos);
      const Flow flow = exec_body(s.body, out);
      scope_ = outer;
      if (flow == Flow::kBreak) break;
    } catch (...) {
      scope_ = outer;
      throw;
    }
  }
  scope_ = outer;
  if (items.empty()) exec_body(s.else_body, out);
}

Value Interpreter::make_loop_object(const std::vector<Value>& items, int depth, const Value& recurse) {
  Value loop = Value::dict();
  DictData& d = loop.dict_data();
  d.entries.reserve(14);
  for (const char* key : {"index0", "index", "revindex0", "revindex", "first", "last", "length", "depth0", "depth",
                          "previtem", "nextitem", "cycle"}) {
    d.set(Value(key), Value());
  }
  d.set("length", Value(int64_t(items.size())));
  d.set("depth0", Value(int64_t(depth - 1)));
  d.set("depth", Value(int64_t(depth)));
  if (!recurse.is_undefined()) d.set("__call__", recurse);
  return loop;
}

// Like jinja2's LoopContext, one loop object is updated in place for each iteration.
void Interpreter::update_loop_object(Value& loop, const std::vector<Value>& items, size_t i) {
  const int64_t n = int64_t(items.size()), idx = int64_t(i);
  auto& e = loop.dict_data().entries;  // positions fixed by make_loop_object
  e[0].second = Value(idx);
  e[1].second = Value(idx + 1);
  e[2].second = Value(n - idx - 1);
  e[3].second = Value(n - idx);
  e[4].second = Value(i == 0);
  e[5].second = Value(idx == n - 1);
  e[9].second = i > 0 ? items[i - 1] : Value::undefined("there is no previous item");
  e[10].second = idx + 1 < n ? items[i + 1] : Value::undefined("there is no next item");
  e[11].second = Value::callable("cycle", [idx](Interpreter&, CallArgs& args) {
    if (args.positional.empty()) fail("no items for cycling given");
    return args.positional[size_t(idx) % args.positional.size()];
  });
}

void Interpreter::assign(const std::vector<std::string>& targets, const Value& value, SourcePos pos) {
  if (targets.size() == 1) {
    scope_->vars[targets[0]] = value;
    return;
  }
  std::vector<Value> parts = iterate(value);
  if (parts.size() != targets.size()) {
    fail(fmt::format("{} values to unpack (expected {}, got {})",
                     parts.size() > targets.size() ? "too many" : "not enough", targets.size(), parts.size()),
         pos);
  }
  for (size_t i = 0; i < targets.size(); ++i) scope_->vars[targets[i]] = parts[i];
}

void Interpreter::exec_set(const Stmt& s, std::string& out) {
  (void)out;
  Value value;
  if (s.expr) {
    value = eval(*s.expr);
  } else {
    value = Value(capture(s.body));
    if (s.filter) value = eval_filter(*s.filter, &value);
  }
  if (s.attribute.empty()) return assign(s.targets, value, s.pos);
  const Value* ns = scope_->lookup(s.targets[0]);
  if (!ns || !ns->is_namespace()) fail("cannot assign attribute on non-namespace object", s.pos);
  ns->dict_data().set(Value(s.attribute), std::move(value));
}

std::string Interpreter::capture(const Body& body) {
  std::string text;
  exec_body(body, text);
  return text;
}

void Interpreter::define_macro(const Stmt& s) {
  scope_->vars[s.targets[0]] = make_macro(s, scope_);
}

Value Interpreter::make_macro(const Stmt& s, std::shared_ptr<Scope> closure) {
  const Stmt* def = &s;
  macro_closures_.push_back(closure);
  return Value::callable(
      s.targets.empty() ? "caller" : s.targets[0], [this, def, closure](Interpreter&, CallArgs& args) {
        auto frame = std::make_shared<Scope>();
        frame->parent = closure;
        std::vector<Value> varargs;
        for (size_t i = 0; i < args.positional.size(); ++i) {
          if (i < def->params.size()) {
            frame->vars[def->params[i].name] = args.positional[i];
          } else {
            varargs.push_back(args.positional[i]);
          }
        }
        Value kwargs = Value::dict();
        for (auto& [name, v] : args.keyword) {
          bool is_param = name == "caller";
          for (const MacroParam& p : def->params) is_param |= p.name == name;
          if (is_param) {
            frame->vars[name] = v;
          } else {
            kwargs.dict_data().set(Value(name), v);
          }
        }
        auto saved = scope_;
        scope_ = frame;
        try {
          for (const MacroParam& p : def->params) {
            if (frame->vars.count(p.name)) continue;
            frame->vars[p.name] = p.default_value
                                      ? eval(*p.default_value)
                                      : Value::undefined(fmt::format("parameter '{}' was not provided", p.name));
          }
          frame->vars["varargs"] = Value::list(std::move(varargs), true);
          frame->vars["kwargs"] = kwargs;
          std::string out;
          exec_body(def->body, out);
          scope_ = saved;
          return Value(std::move(out));
        } catch (...) {
          scope_ = saved;
          throw;
        }
      });
}

void Interpreter::exec_call_block(const Stmt& s, std::string& out) {
  const Expr& call = *s.expr;
  const Value callee = eval(*call.children[0]);
  CallArgs args = eval_args(call);
  args.keyword.emplace_back("caller", make_macro(s, scope_));
  append(out, to_str(this->call(callee, args, s.pos)));
}

Value Interpreter::call(const Value& callee, CallArgs& args, SourcePos pos) {
  if (callee.is_dict() && callee.dict_data().find("__call__"))
    return call(*callee.dict_data().find("__call__"), args, pos);
  if (callee.is_undefined()) fail_undefined(callee);
  if (!callee.is_callable()) fail(fmt::format("'{}' object is not callable", callee.type_name()), pos);
  if (++call_depth_ > limits_.max_call_depth) {
    --call_depth_;
    fail(fmt::format("maximum call depth ({}) exceeded", limits_.max_call_depth), pos);
  }
  try {
    Value result = callee.callable_data().fn(*this, args);
    --call_depth_;
    return result;
  } catch (...) {
    --call_depth_;
    throw;
  }
}

Value Interpreter::get_attr(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) fail_undefined(obj);
  if (obj.is_dict()) {
    if (!obj.is_namespace()) {
      Value method = get_method(obj, name);
      if (!method.is_undefined() || method.is_unsafe()) return method;
    }
    if (const Value* v = obj.dict_data().find(name)) return *v;
    return Value::undefined(fmt::format("'{}' has no attribute '{}'", type_repr(obj), name));
  }
  Value method = get_method(obj, name);
  if (!method.is_undefined() || method.is_unsafe()) return method;
  return Value::undefined(fmt::format("'{}' has no attribute '{}'", type_repr(obj), name));
}

Value slice_value(const Value& obj, const Value& start_v, const Value& stop_v, const Value& step_v) {
  auto as_index = [](const Value& v, const char* what) -> std::optional<int64_t> {
    if (v.is_none() || v.is_undefined()) return std::nullopt;
    if (!v.is_integral()) fail(fmt::format("slice {} must be an integer or None", what));
    return v.as_int();
  };
  const int64_t step = as_index(step_v, "step").value_or(1);
  if (step == 0) fail("slice step cannot be zero");
  std::vector<uint32_t> cps;
  int64_t n = 0;
  if (obj.is_string()) {
    cps = code_points(obj.as_string());
    n = int64_t(cps.size());
  } else {
    n = int64_t(obj.items().size());
  }
  auto clamp = [&](std::optional<int64_t> v, int64_t def) {
    if (!v) return def;
    int64_t x = *v;
    if (x < 0) x += n;
    if (step > 0) return std::clamp<int64_t>(x, 0, n);
    return std::clamp<int64_t>(x, -1, n - 1);
  };
  const int64_t start = clamp(as_index(start_v, "start"), step > 0 ? 0 : n - 1);
  const int64_t stop = clamp(as_index(stop_v, "stop"), step > 0 ? n : -1);
  std::vector<size_t> picked;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) picked.push_back(size_t(i));
  if (obj.is_string()) {
    std::vector<uint32_t> out;
    for (size_t i : picked) out.push_back(cps[i]);
    return Value(from_code_points(out, 0, out.size()));
  }
  std::vector<Value> out;
  for (size_t i : picked) out.push_back(obj.items()[i]);
  return Value::list(std::move(out), obj.is_tuple());
}

Value Interpreter::get_item(const Value& obj, const Value& key) {
  if (obj.is_undefined()) fail_undefined(obj);
  if (obj.is_dict()) {
    if (const Value* v = obj.dict_data().find(key)) return *v;
  } else if (((obj.is_list() && !obj.is_generator()) || obj.is_string()) && key.is_integral()) {
    const int64_t n = obj.is_string() ? int64_t(code_point_length(obj.as_string())) : int64_t(obj.items().size());
    int64_t i = key.as_int();
    if (i < 0) i += n;
    if (i >= 0 && i < n) {
      if (obj.is_list()) return obj.items()[size_t(i)];
      const std::vector<uint32_t> cps = code_points(obj.as_string());
      return Value(from_code_points(cps, size_t(i), size_t(i) + 1));
    }
  }
  if (key.is_string()) {
    if (obj.is_dict() && obj.is_namespace())
      return Value::undefined(fmt::format("'{}' has no attribute '{}'", type_repr(obj), key.as_string()));
    Value method = get_method(obj, key.as_string());
    if (!method.is_undefined() || method.is_unsafe()) return method;
    return Value::undefined(fmt::format("'{}' has no attribute '{}'", type_repr(obj), key.as_string()));
  }
  return Value::undefined(fmt::format("'{}' has no element {}", type_repr(obj), to_repr(key)));
}

CallArgs Interpreter::eval_args(const Expr& e) {
  CallArgs args;
  for (const ExprPtr& a : e.args) args.positional.push_back(eval(*a));
  for (const KeywordArg& k : e.kwargs) args.keyword.emplace_back(k.name, eval(*k.value));
  return args;
}

Value Interpreter::eval_filter(const Expr& e, const Value* block_input) {
  Value input;
  if (!e.children[0]) {
    input = *block_input;
  } else if (block_input && e.children[0]->kind == Expr::Kind::kFilter) {
    input = eval_filter(*e.children[0], block_input);
  } else {
    input = eval(*e.children[0]);
  }
  CallArgs args = eval_args(e);
  return apply_filter(*this, e.name, input, args);
}

}  // namespace tessera::chat::jinja
