// Expression evaluation of the Jinja interpreter (statements are in jinja_interpreter.cpp).
#include <fmt/format.h>

#include "chat/jinja_builtins.h"
#include "chat/jinja_interpreter.h"

namespace tessera::chat::jinja {

Value Interpreter::eval(const Expr& e) {
  if (++eval_depth_ > 400) {
    --eval_depth_;
    fail("expression nesting too deep", e.pos);
  }
  struct Guard {
    int& depth;
    ~Guard() { --depth; }
  } guard{eval_depth_};
  try {
    switch (e.kind) {
      case Expr::Kind::kConst: return e.value;
      case Expr::Kind::kName: {
        if (const Value* v = scope_->lookup(e.name)) return *v;
        return Value::undefined(fmt::format("'{}' is undefined", e.name));
      }
      case Expr::Kind::kList:
      case Expr::Kind::kTuple: {
        std::vector<Value> items;
        items.reserve(e.children.size());
        for (const ExprPtr& c : e.children) items.push_back(eval(*c));
        return Value::list(std::move(items), e.kind == Expr::Kind::kTuple);
      }
      case Expr::Kind::kDict: {
        Value d = Value::dict();
        for (size_t i = 0; i + 1 < e.children.size(); i += 2) {
          Value key = eval(*e.children[i]);
          if (!key.hash_key()) fail(fmt::format("unhashable type: '{}'", key.type_name()), e.children[i]->pos);
          d.dict_data().set(key, eval(*e.children[i + 1]));
        }
        return d;
      }
      case Expr::Kind::kGetAttr: return get_attr(eval(*e.children[0]), e.name);
      case Expr::Kind::kGetItem: {
        const Value obj = eval(*e.children[0]);
        const Expr& index = *e.children[1];
        if (index.kind != Expr::Kind::kSlice) return get_item(obj, eval(index));
        if (obj.is_undefined()) return get_item(obj, Value());
        Value parts[3];
        for (int i = 0; i < 3; ++i) parts[i] = index.children[i] ? eval(*index.children[i]) : Value::none();
        if (!obj.is_string() && (!obj.is_list() || obj.is_generator())) {
          return Value::undefined(fmt::format("'{}' object is not subscriptable", obj.type_name()));
        }
        return slice_value(obj, parts[0], parts[1], parts[2]);
      }
      case Expr::Kind::kSlice: fail("unexpected slice");
      case Expr::Kind::kCall: return eval_call(e);
      case Expr::Kind::kFilter: return eval_filter(e, nullptr);
      case Expr::Kind::kTest: {
        const Value input = eval(*e.children[0]);
        CallArgs args = eval_args(e);
        return Value(apply_test(*this, e.name, input, args) != e.negated);
      }
      case Expr::Kind::kUnary: {
        const Value v = eval(*e.children[0]);
        if (e.op == "not") return Value(!v.truthy());
        if (v.is_undefined()) return arithmetic("-", Value(0), v, limits_.max_output_bytes);
        if (!v.is_number()) fail(fmt::format("bad operand type for unary {}: '{}'", e.op, v.type_name()));
        if (e.op == "+") return v.is_bool() ? Value(v.as_int()) : v;
        if (v.is_float()) return Value(-v.as_float());
        return arithmetic("-", Value(0), v, limits_.max_output_bytes);
      }
      case Expr::Kind::kBinary: return eval_binary(e);
      case Expr::Kind::kCompare: return eval_compare(e);
      case Expr::Kind::kCondition: {
        if (eval(*e.children[1]).truthy()) return eval(*e.children[0]);
        if (e.children[2]) return eval(*e.children[2]);
        return Value::undefined("the inline if-expression evaluated to false and no else section was defined");
      }
    }
  } catch (JinjaError& err) {
    if (err.pos.line == 0) err.pos = e.pos;
    throw;
  }
  fail("unknown expression", e.pos);
}

Value Interpreter::eval_binary(const Expr& e) {
  const std::string& op = e.op;
  if (op == "and") {
    Value left = eval(*e.children[0]);
    return left.truthy() ? eval(*e.children[1]) : left;
  }
  if (op == "or") {
    Value left = eval(*e.children[0]);
    return left.truthy() ? left : eval(*e.children[1]);
  }
  const Value left = eval(*e.children[0]);
  const Value right = eval(*e.children[1]);
  if (op == "~") {
    std::string s = to_str(left);
    s += to_str(right);
    check_size(s.size());
    return Value(std::move(s));
  }
  return arithmetic(op, left, right, limits_.max_output_bytes);
}

Value Interpreter::eval_compare(const Expr& e) {
  Value left = eval(*e.children[0]);
  for (size_t i = 0; i < e.ops.size(); ++i) {
    Value right = eval(*e.children[i + 1]);
    const std::string& op = e.ops[i];
    bool ok = false;
    if (op == "==") {
      ok = equals(left, right);
    } else if (op == "!=") {
      ok = !equals(left, right);
    } else if (op == "<") {
      ok = less_than(left, right);
    } else if (op == ">") {
      ok = less_than(right, left);
    } else if (op == "<=") {
      ok = less_than(left, right) || equals(left, right);
    } else if (op == ">=") {
      ok = less_than(right, left) || equals(left, right);
    } else if (op == "in") {
      ok = contains(right, left);
    } else {
      ok = !contains(right, left);
    }
    if (!ok) return Value(false);
    left = std::move(right);
  }
  return Value(true);
}

Value Interpreter::eval_call(const Expr& e) {
  const Value callee = eval(*e.children[0]);
  CallArgs args = eval_args(e);
  return call(callee, args, e.pos);
}

}  // namespace tessera::chat::jinja
