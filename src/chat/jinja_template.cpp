#include "chat/jinja_template.h"

#include <fmt/format.h>

#include "chat/jinja_builtins.h"
#include "chat/jinja_parser.h"

namespace tessera::chat::jinja {
namespace {

std::string describe(const JinjaError& e) {
  if (e.pos.line == 0) return e.message;
  return fmt::format("line {}, column {}: {}", e.pos.line, e.pos.column, e.message);
}

}  // namespace

Result<Template> Template::parse(std::string_view source) {
  try {
    Template t;
    t.body_ = std::make_shared<const Body>(parse_template(source));
    return t;
  } catch (const JinjaError& e) {
    return Status::error("template syntax error: " + describe(e));
  }
}

Result<std::string> Template::render(const Value& context, const RenderLimits& limits) const {
  try {
    Interpreter interp(limits, make_globals(), context);
    return interp.render(*body_);
  } catch (const JinjaError& e) {
    return Status::error("template error: " + describe(e));
  } catch (const std::bad_alloc&) {
    return Status::error("template error: out of memory");
  }
}

}  // namespace tessera::chat::jinja
