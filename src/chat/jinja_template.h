// A parsed Jinja template, rendered the way Hugging Face transformers renders chat templates:
// jinja2's ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, loopcontrols)
// with HF's `tojson`, `raise_exception`, `strftime_now` and `{% generation %}`.
//
//   Result<Template> t = Template::parse("{{ messages[0].content | upper }}");
//   Value ctx = Value::dict();
//   ctx.dict_data().set("messages", Value::from_json(messages_json));
//   Result<std::string> text = t->render(ctx);   // or an error "line 1, column 4: ..."
//
// A Template is immutable after parsing and may be rendered from several threads at once.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "chat/jinja_interpreter.h"
#include "chat/jinja_value.h"
#include "tessera/status.h"

namespace tessera::chat::jinja {

class Template {
 public:
  // Syntax errors come back as "line L, column C: message".
  static Result<Template> parse(std::string_view source);

  // `context` is a dict of the template's variables (messages, tools, add_generation_prompt,
  // bos_token, ...). Runtime errors (raise_exception, undefined access, type errors, limits)
  // come back as "line L, column C: message".
  Result<std::string> render(const Value& context, const RenderLimits& limits = {}) const;

 private:
  std::shared_ptr<const Body> body_;
};

}  // namespace tessera::chat::jinja
