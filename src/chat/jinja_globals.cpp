// Globals of the chat-template environment: jinja2's (range, dict, namespace, joiner, cycler)
// and Hugging Face's (raise_exception, strftime_now).
#include <fmt/format.h>

#include <ctime>

#include "chat/jinja_args.h"
#include "chat/jinja_builtins.h"
#include "chat/jinja_interpreter.h"

namespace tessera::chat::jinja {
namespace {

constexpr int64_t kMaxRange = 100000;  // jinja2.sandbox.MAX_RANGE

Value range(Interpreter&, CallArgs& args) {
  if (!args.keyword.empty()) fail("range() takes no keyword arguments");
  for (const Value& v : args.positional) {
    if (!v.is_integral()) fail(fmt::format("'{}' object cannot be interpreted as an integer", v.type_name()));
  }
  int64_t start = 0, stop = 0, step = 1;
  switch (args.positional.size()) {
    case 1: stop = args.positional[0].as_int(); break;
    case 2:
      start = args.positional[0].as_int();
      stop = args.positional[1].as_int();
      break;
    case 3:
      start = args.positional[0].as_int();
      stop = args.positional[1].as_int();
      step = args.positional[2].as_int();
      break;
    default: fail(fmt::format("range expected 1 to 3 arguments, got {}", args.positional.size()));
  }
  if (step == 0) fail("range() arg 3 must not be zero");
  const double count = step > 0 ? std::ceil((double(stop) - double(start)) / double(step))
                                : std::ceil((double(start) - double(stop)) / double(-step));
  if (count > double(kMaxRange)) {
    fail(fmt::format("Range too big. The sandbox blocks ranges larger than MAX_RANGE ({}).", kMaxRange));
  }
  std::vector<Value> items;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) items.emplace_back(i);
  return Value::list(std::move(items));
}

Value make_dict(Interpreter&, CallArgs& args) {
  Value d = Value::dict();
  if (args.positional.size() > 1) fail("dict expected at most 1 argument");
  if (!args.positional.empty()) {
    const Value& src = args.positional[0];
    if (src.is_dict()) {
      for (const auto& [k, v] : src.dict_data().entries) d.dict_data().set(k, v);
    } else {
      for (const Value& pair : iterate(src)) {
        std::vector<Value> kv = iterate(pair);
        if (kv.size() != 2 || !kv[0].hash_key()) fail("dictionary update sequence element has wrong length");
        d.dict_data().set(kv[0], kv[1]);
      }
    }
  }
  for (const auto& [k, v] : args.keyword) d.dict_data().set(Value(k), v);
  return d;
}

Value make_namespace(Interpreter& interp, CallArgs& args) {
  Value ns = Value::namespace_object();
  const Value init = make_dict(interp, args);
  for (const auto& [k, v] : init.dict_data().entries) ns.dict_data().set(k, v);
  return ns;
}

Value raise_exception(Interpreter&, CallArgs& args) {
  fail(args.positional.empty() ? std::string("raise_exception called") : to_str(args.positional[0]));
}

Value strftime_now(Interpreter&, CallArgs& args) {
  if (args.positional.empty() || !args.positional[0].is_string()) fail("strftime_now() needs a format string");
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char buf[512];
  const size_t n = std::strftime(buf, sizeof buf, args.positional[0].as_string().c_str(), &local);
  return Value(std::string(buf, n));
}

Value joiner(Interpreter&, CallArgs& args) {
  ArgReader a(args, "joiner");
  const std::string sep = a.string(0, "sep", ", ");
  auto used = std::make_shared<bool>(false);
  return Value::callable("joiner", [sep, used](Interpreter&, CallArgs&) {
    if (!*used) {
      *used = true;
      return Value("");
    }
    return Value(sep);
  });
}

Value cycler(Interpreter&, CallArgs& args) {
  if (args.positional.empty()) fail("cycler needs at least one item");
  auto items = std::make_shared<std::vector<Value>>(args.positional);
  auto pos = std::make_shared<size_t>(0);
  Value c = Value::dict();
  c.dict_data().set("next", Value::callable("next", [items, pos](Interpreter&, CallArgs&) {
                      Value v = (*items)[*pos];
                      *pos = (*pos + 1) % items->size();
                      return v;
                    }));
  c.dict_data().set("reset", Value::callable("reset", [pos](Interpreter&, CallArgs&) {
                      *pos = 0;
                      return Value::none();
                    }));
  c.dict_data().set("current", (*items)[0]);
  return c;
}

}  // namespace

Value make_globals() {
  Value g = Value::dict();
  DictData& d = g.dict_data();
  d.set("range", Value::callable("range", range));
  d.set("dict", Value::callable("dict", make_dict));
  d.set("namespace", Value::callable("namespace", make_namespace));
  d.set("raise_exception", Value::callable("raise_exception", raise_exception));
  d.set("strftime_now", Value::callable("strftime_now", strftime_now));
  d.set("joiner", Value::callable("joiner", joiner));
  d.set("cycler", Value::callable("cycler", cycler));
  return g;
}

}  // namespace tessera::chat::jinja
