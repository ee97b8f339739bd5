// The Jinja engine: statements, expressions, filters, tests, error positions and limits. Expected
// strings are what Python jinja2 (with Hugging Face's settings) prints for the same templates.
#include <gtest/gtest.h>

#include <string>

#include "chat/jinja_template.h"

namespace tessera::chat::jinja {
namespace {

Value context() {
  Value ctx = Value::dict();
  ctx.dict_data().set("messages", Value::from_json(nlohmann::ordered_json::parse(
                                      R"([{"role":"system","content":"S"},{"role":"user","content":"U1"},
                                          {"role":"assistant","content":"A1"},{"role":"user","content":"U2"}])")));
  ctx.dict_data().set("n", Value(7));
  ctx.dict_data().set("cfg", Value::from_json(nlohmann::ordered_json::parse(R"({"b":1,"a":[1,2.0,null,true,"x"]})")));
  return ctx;
}

std::string render(const std::string& source, const RenderLimits& limits = {}) {
  Result<Template> t = Template::parse(source);
  if (!t) return "PARSE ERROR: " + t.error();
  Result<std::string> out = t->render(context(), limits);
  if (!out) return "RENDER ERROR: " + out.error();
  return *out;
}

std::string error_of(const std::string& source, const RenderLimits& limits = {}) {
  Result<Template> t = Template::parse(source);
  if (!t) return t.error();
  Result<std::string> out = t->render(context(), limits);
  return out ? std::string("no error, output: ") + *out : out.error();
}

TEST(JinjaTest, PrintsPythonValues) {
  EXPECT_EQ(render("{{ 1 }} {{ 1.0 }} {{ 1e-5 }} {{ 1e16 }} {{ 0.1 + 0.2 }} {{ 2.5e-8 }}"),
            "1 1.0 1e-05 1e+16 0.30000000000000004 2.5e-08");
  EXPECT_EQ(render("{{ true }} {{ none }} {{ [1, 'a', none, false] }} {{ (1,) }} {{ {'k': \"it's\"} }}"),
            "True None [1, 'a', None, False] (1,) {'k': \"it's\"}");
  EXPECT_EQ(render("{{ cfg }}"), "{'b': 1, 'a': [1, 2.0, None, True, 'x']}");
}

TEST(JinjaTest, ArithmeticFollowsPython) {
  EXPECT_EQ(render("{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 1 + true }}"),
            "3 -4 2 -2 3.5 1024 2");
  EXPECT_EQ(render("{{ 'ab' * 2 }} {{ [1] + [2] }} {{ 'a' ~ 1 ~ none }} {{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }}"),
            "abab [1, 2] a1None True False");
  EXPECT_EQ(render("{{ n if n > 100 else 'small' }}|{{ n if n > 100 }}|{{ 0 or 'x' }}|{{ 0 and 1 }}"), "small||x|0");
}

TEST(JinjaTest, StringMethods) {
  EXPECT_EQ(
      render("{{ '  a b  '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ 'a,b,,c'.split(',', 1) }}|{{ ' a  b '.split() }}"),
      "a b|hi|['a', 'b,,c']|['a', 'b']");
  EXPECT_EQ(
      render("{{ 'abc'.startswith(('x', 'a')) }} {{ 'hello world'.title() }} {{ 'abcdef'[::-1] }} {{ 'abcdef'[1:3] }}"),
      "True Hello World fedcba bc");
  EXPECT_EQ(render("{{ 'héllo'[1:3] }} {{ 'héllo' | length }} {{ '%s=%d' % ('x', 3) }}"), "él 5 x=3");
}

TEST(JinjaTest, Filters) {
  EXPECT_EQ(
      render(
          "{{ [3, 1, 2] | sort }} {{ ['b', 'A', 'c'] | sort }} {{ [1, 1, 2] | unique | list }} {{ cfg | dictsort }}"),
      "[1, 2, 3] ['A', 'b', 'c'] [1, 2] [('a', [1, 2.0, None, True, 'x']), ('b', 1)]");
  EXPECT_EQ(render("{{ messages | map(attribute='role') | join(',') }} "
                   "{{ messages | selectattr('role', 'equalto', 'user') | list | length }}"),
            "system,user,assistant,user 2");
  EXPECT_EQ(render("{{ cfg | tojson }}"), R"({"b": 1, "a": [1, 2.0, null, true, "x"]})");
  EXPECT_EQ(render("{{ {'a': [1]} | tojson(indent=2) }}"), "{\n  \"a\": [\n    1\n  ]\n}");
  EXPECT_EQ(render("{{ 'é\"<' | tojson }} {{ 'é' | tojson(ensure_ascii=true) }}"), "\"é\\\"<\" \"\\u00e9\"");
  EXPECT_EQ(render("{{ '42' | int }} {{ 'x' | int }} {{ 2.5 | round }} {{ 3.5 | round }} {{ '2.5' | float }}"),
            "42 0 2.0 4.0 2.5");
  EXPECT_EQ(render("{{ missing | default('d') }} {{ none | default('d') }} {{ '' | default('d', true) }}"), "d None d");
  EXPECT_EQ(render("{{ 'a\nb' | indent(2) }}|{{ '<' | safe + '<' }}"), "a\n  b|<&lt;");
}

TEST(JinjaTest, Tests) {
  EXPECT_EQ(
      render("{{ 'a' is string }} {{ true is number }} {{ 1 is integer }} {{ cfg is mapping }} {{ x is defined }}"),
      "True True True True False");
  EXPECT_EQ(render("{{ n is divisibleby 7 }} {{ none is none }} {{ cfg.a is sequence }} {{ n is not string }}"),
            "True True True True");
}

TEST(JinjaTest, LoopsAndScoping) {
  EXPECT_EQ(
      render("{% for m in messages %}{{ loop.index }}{{ m.role[0] }}{% if not loop.last %},{% endif %}{% endfor %}"),
      "1s,2u,3a,4u");
  EXPECT_EQ(render("{% for x in [1, 2, 3] if x > 1 %}{{ loop.index0 }}{{ x }}{% else %}none{% endfor %}"), "0213");
  EXPECT_EQ(render("{% for x in range(10) %}{% if x == 1 %}{% continue %}{% endif %}{% if x > 3 %}{% break %}"
                   "{% endif %}{{ x }}{% endfor %}"),
            "023");
  // A set inside a loop does not leak out; a set inside an if does.
  EXPECT_EQ(render("{% set x = 0 %}{% for i in range(3) %}{% set x = x + 1 %}{{ x }}{% endfor %}{{ x }}"
                   "{% if true %}{% set y = 5 %}{% endif %}{{ y }}"),
            "11105");
  EXPECT_EQ(
      render("{% set ns = namespace(c=0) %}{% for m in messages %}{% set ns.c = ns.c + 1 %}{% endfor %}{{ ns.c }}"),
      "4");
}

TEST(JinjaTest, MacrosCallsFiltersAndRaw) {
  EXPECT_EQ(render("{% macro g(name, p='Hi') %}{{ p }} {{ name }}{% endmacro %}{{ g('Bob') }}/{{ g('Al', p='Yo') }}"),
            "Hi Bob/Yo Al");
  EXPECT_EQ(render("{% macro w() %}<{{ caller() }}>{% endmacro %}{% call w() %}in{% endcall %}"), "<in>");
  EXPECT_EQ(
      render("{% filter upper %}a{{ n }}{% endfilter %}{% raw %}{{ x }}{% endraw %}{% set b %}B{% endset %}{{ b }}"),
      "A7{{ x }}B");
  EXPECT_EQ(render("{% generation %}gen{% endgeneration %}"), "gen");
}

TEST(JinjaTest, WhitespaceControlLikeHuggingFace) {
  // trim_blocks drops the newline after a block tag; lstrip_blocks the indentation before it.
  EXPECT_EQ(render("a\n  {% if true %}\n  b\n  {% endif %}\nc"), "a\n  b\nc");
  EXPECT_EQ(render("a  {%- if true -%}  b  {%- endif %}  c"), "ab  c");
  EXPECT_EQ(render("{{ 'x' }}\n{# comment #}\ny"), "x\ny");
  EXPECT_EQ(render("line\n"), "line");  // keep_trailing_newline=False
  EXPECT_EQ(render("{%+ if true %}x{% endif +%}\ny"), "x\ny");
}

TEST(JinjaTest, UndefinedBehavesLikeJinja2) {
  EXPECT_EQ(
      render("[{{ nope }}][{{ nope | length }}][{% for x in nope %}x{% endfor %}][{{ cfg.missing }}][{{ none.x }}]"),
      "[][0][][][]");
  EXPECT_NE(error_of("{{ nope.attr }}").find("'nope' is undefined"), std::string::npos);
}

TEST(JinjaTest, SandboxRefusesMutation) {
  EXPECT_NE(error_of("{{ cfg.a.append(1) }}").find("unsafe"), std::string::npos);
  EXPECT_NE(error_of("{{ cfg.update({}) }}").find("unsafe"), std::string::npos);
}

TEST(JinjaTest, ErrorsNameLineAndColumn) {
  EXPECT_EQ(error_of("line1\n{% if x %}\nunclosed"),
            "template syntax error: line 3, column 9: unexpected end of template; expected 'elif', 'else' or 'endif'");
  EXPECT_NE(error_of("ok\n  {{ 'unterminated }}").find("line 2, column 6"), std::string::npos);
  EXPECT_NE(error_of("{% endfor %}").find("line 1"), std::string::npos);
  EXPECT_EQ(error_of("a\nb {{ raise_exception('bad input') }}"), "template error: line 2, column 6: bad input");
  EXPECT_NE(error_of("{{ 1 / 0 }}").find("division by zero"), std::string::npos);
  EXPECT_NE(error_of("{{ n | nosuch }}").find("No filter named 'nosuch'"), std::string::npos);
  EXPECT_NE(error_of("{% break %}").find("outside of a loop"), std::string::npos);
}

TEST(JinjaTest, RunawayTemplatesAreStopped) {
  RenderLimits limits;
  limits.max_loop_iterations = 10'000;
  EXPECT_NE(error_of("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", limits)
                .find("loop iteration limit"),
            std::string::npos);
  EXPECT_NE(error_of("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}").find("call depth"), std::string::npos);
  limits = {};
  limits.max_output_bytes = 1000;
  EXPECT_NE(error_of("{% for i in range(1000) %}xxxxxxxxxx{% endfor %}", limits).find("exceeds the limit"),
            std::string::npos);
  EXPECT_NE(error_of("{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
                     limits)
                .find("limit"),
            std::string::npos);
  EXPECT_NE(error_of("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}").find("too deep"),
            std::string::npos);
  EXPECT_NE(error_of("{{ range(1000000) }}").find("MAX_RANGE"), std::string::npos);
}

}  // namespace
}  // namespace tessera::chat::jinja
