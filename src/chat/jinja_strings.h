// Python str methods on UTF-8 strings (code-point based, Unicode-aware case mapping and
// whitespace via utf8proc), shared by the Jinja filters and the str methods templates call.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::chat::jinja::pystr {

bool is_whitespace(uint32_t cp);  // Python str.isspace() for one character
std::string upper(std::string_view s);
std::string lower(std::string_view s);
std::string title(std::string_view s);       // str.title()
std::string capitalize(std::string_view s);  // str.capitalize()
// strip / lstrip / rstrip; `chars` nullopt = whitespace.
std::string strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right);
// split / rsplit; `sep` nullopt = runs of whitespace. maxsplit < 0 = no limit.
std::vector<std::string> split(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit,
                               bool from_right);
std::vector<std::string> splitlines(std::string_view s, bool keepends);
std::string replace(std::string_view s, std::string_view old, std::string_view repl, int64_t count);
// find / rfind as code-point indices, -1 when absent.
int64_t find(std::string_view s, std::string_view sub, bool from_right);
int64_t count(std::string_view s, std::string_view sub);
std::string center(std::string_view s, int64_t width, bool left_align, bool right_align, std::string_view fill);

}  // namespace tessera::chat::jinja::pystr
