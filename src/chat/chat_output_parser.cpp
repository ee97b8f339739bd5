#include "chat/chat_output_parser.h"

#include <algorithm>
#include <array>

namespace tessera::chat {
namespace {

constexpr std::string_view kHermesOpen = "<tool_call>";
constexpr std::string_view kHermesClose = "</tool_call>";
constexpr std::string_view kMistralOpen = "[TOOL_CALLS]";
constexpr std::string_view kPythonTag = "<|python_tag|>";

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

size_t skip_space(std::string_view s, size_t i = 0) {
  while (i < s.size() && is_space(s[i])) ++i;
  return i;
}

std::string_view trim(std::string_view s) {
  const size_t b = skip_space(s);
  size_t e = s.size();
  while (e > b && is_space(s[e - 1])) --e;
  return s.substr(b, e - b);
}

// Length of the longest suffix of `text` that is a proper prefix of `marker` (text to hold back).
size_t partial_marker_suffix(std::string_view text, std::string_view marker) {
  for (size_t n = std::min(text.size(), marker.size() - 1); n > 0; --n) {
    if (text.substr(text.size() - n) == marker.substr(0, n)) return n;
  }
  return 0;
}

nlohmann::ordered_json parse_json(std::string_view text) {
  return nlohmann::ordered_json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
}

}  // namespace

size_t json_value_end(std::string_view text) {
  size_t i = skip_space(text);
  if (i >= text.size()) return std::string_view::npos;
  int depth = 0;
  bool in_string = false;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
        if (depth == 0) return i + 1;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth <= 0) return i + 1;
    } else if (depth == 0) {
      return std::string_view::npos;  // a bare scalar: not a tool call payload
    }
  }
  return std::string_view::npos;
}

nlohmann::ordered_json ParsedMessage::to_json() const {
  nlohmann::ordered_json m = {{"role", "assistant"}};
  m["content"] =
      content.empty() && !tool_calls.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(content);
  if (!reasoning_content.empty()) m["reasoning_content"] = reasoning_content;
  if (!tool_calls.empty()) {
    nlohmann::ordered_json calls = nlohmann::ordered_json::array();
    for (const ToolCall& c : tool_calls) {
      calls.push_back(
          {{"id", c.id}, {"type", "function"}, {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
    }
    m["tool_calls"] = std::move(calls);
  }
  return m;
}

ChatOutputParser::ChatOutputParser(ParserOptions options) : options_(std::move(options)) {}

ParsedMessage ChatOutputParser::feed(std::string_view chunk) {
  buffer_.append(chunk);
  ParsedMessage delta;
  step(delta, false);
  return delta;
}

ParsedMessage ChatOutputParser::finish() {
  ParsedMessage delta;
  step(delta, true);
  if (!buffer_.empty()) {  // anything left unparsed is content
    emit_content(delta, buffer_);
    buffer_.clear();
  }
  return delta;
}

void ChatOutputParser::step(ParsedMessage& delta, bool final) {
  bool progress = true;
  while (progress) {
    switch (state_) {
      case State::kStart: progress = step_start(final); break;
      case State::kReasoning: progress = step_reasoning(delta, final); break;
      case State::kContent: progress = step_content(delta, final); break;
      case State::kToolCallTag: progress = step_tool_call_tag(delta, final); break;
      case State::kToolCallsJson: progress = step_tool_calls_json(delta, final); break;
      case State::kWholeJson: progress = step_whole_json(delta, final); break;
    }
  }
}

void ChatOutputParser::emit_content(ParsedMessage& delta, std::string_view text) {
  if (text.empty()) return;
  content_started_ = true;
  delta.content.append(text);
  total_.content.append(text);
}

void ChatOutputParser::emit_reasoning(ParsedMessage& delta, std::string_view text) {
  delta.reasoning_content.append(text);
  total_.reasoning_content.append(text);
}

bool ChatOutputParser::step_start(bool final) {
  if (options_.parse_reasoning && options_.thinking_forced_open) {
    state_ = State::kReasoning;
    return true;
  }
  const size_t first = skip_space(buffer_);
  const std::string_view rest = std::string_view(buffer_).substr(first);
  if (rest.empty() && !final) return false;
  if (options_.parse_reasoning) {
    const std::string_view open = options_.think_start;
    if (rest.substr(0, open.size()) == open) {
      buffer_.erase(0, first + open.size());
      state_ = State::kReasoning;
      return true;
    }
    if (!final && open.substr(0, rest.size()) == rest) return false;  // maybe "<thi"
  }
  state_ = State::kContent;
  return true;
}

bool ChatOutputParser::step_reasoning(ParsedMessage& delta, bool final) {
  const std::string_view close = options_.think_end;
  const size_t at = buffer_.find(close);
  if (at != std::string::npos) {
    emit_reasoning(delta, std::string_view(buffer_).substr(0, at));
    buffer_.erase(0, at + close.size());
    state_ = State::kContent;
    skip_whitespace_ = true;
    return true;
  }
  const size_t hold = final ? 0 : partial_marker_suffix(buffer_, close);
  emit_reasoning(delta, std::string_view(buffer_).substr(0, buffer_.size() - hold));
  buffer_.erase(0, buffer_.size() - hold);
  return false;
}

bool ChatOutputParser::step_content(ParsedMessage& delta, bool final) {
  if (skip_whitespace_) {
    buffer_.erase(0, skip_space(buffer_));
    if (buffer_.empty()) return false;
    skip_whitespace_ = false;
  }
  if (buffer_.empty()) return false;
  if (!content_started_ && buffer_[0] == '{' && (wants(ToolCallFormat::kLlama3) || wants(ToolCallFormat::kGeneric))) {
    state_ = State::kWholeJson;
    return true;
  }
  struct Marker {
    std::string_view text;
    ToolCallFormat format;
    State next;
  };
  const std::array<Marker, 3> markers = {{{kHermesOpen, ToolCallFormat::kHermes, State::kToolCallTag},
                                          {kMistralOpen, ToolCallFormat::kMistral, State::kToolCallsJson},
                                          {kPythonTag, ToolCallFormat::kLlama3, State::kToolCallsJson}}};
  size_t best = std::string::npos;
  const Marker* found = nullptr;
  size_t hold = 0;
  for (const Marker& m : markers) {
    if (!wants(m.format)) continue;
    const size_t at = buffer_.find(m.text);
    if (at != std::string::npos && at < best) {
      best = at;
      found = &m;
    }
    hold = std::max(hold, partial_marker_suffix(buffer_, m.text));
  }
  if (found) {
    emit_content(delta, std::string_view(buffer_).substr(0, best));
    buffer_.erase(0, best + found->text.size());
    python_tag_ = found->text == kPythonTag;
    state_ = found->next;
    return true;
  }
  if (final) hold = 0;
  emit_content(delta, std::string_view(buffer_).substr(0, buffer_.size() - hold));
  buffer_.erase(0, buffer_.size() - hold);
  return false;
}

bool ChatOutputParser::add_tool_call(ParsedMessage& delta, const nlohmann::ordered_json& value) {
  const nlohmann::ordered_json* call = &value;
  if (call->is_object() && call->contains("function") && (*call)["function"].is_object()) call = &(*call)["function"];
  if (!call->is_object() || !call->contains("name") || !(*call)["name"].is_string()) return false;
  ToolCall tc;
  tc.name = (*call)["name"].get<std::string>();
  const char* args_key = call->contains("arguments")    ? "arguments"
                         : call->contains("parameters") ? "parameters"
                                                        : nullptr;
  if (!args_key) {
    tc.arguments = "{}";
  } else if ((*call)[args_key].is_string()) {
    tc.arguments = (*call)[args_key].get<std::string>();
  } else {
    tc.arguments = (*call)[args_key].dump();
  }
  if (value.is_object() && value.contains("id") && value["id"].is_string()) {
    tc.id = value["id"].get<std::string>();
  } else {
    tc.id = "call_" + std::to_string(next_call_id_);
  }
  ++next_call_id_;
  delta.tool_calls.push_back(tc);
  total_.tool_calls.push_back(std::move(tc));
  return true;
}

bool ChatOutputParser::step_tool_call_tag(ParsedMessage& delta, bool final) {
  const size_t at = buffer_.find(kHermesClose);
  if (at == std::string::npos && !final) return false;
  const std::string_view body = std::string_view(buffer_).substr(0, at == std::string::npos ? buffer_.size() : at);
  if (!add_tool_call(delta, parse_json(trim(body)))) {
    std::string raw =
        std::string(kHermesOpen) + std::string(body) + (at == std::string::npos ? "" : std::string(kHermesClose));
    emit_content(delta, raw);
  }
  buffer_.erase(0, at == std::string::npos ? buffer_.size() : at + kHermesClose.size());
  state_ = State::kContent;
  skip_whitespace_ = true;
  return true;
}

bool ChatOutputParser::step_tool_calls_json(ParsedMessage& delta, bool final) {
  const size_t start = skip_space(buffer_);
  if (start >= buffer_.size() && !final) return false;
  const bool json_like = start < buffer_.size() && (buffer_[start] == '{' || buffer_[start] == '[');
  if (python_tag_ && !json_like && start < buffer_.size()) {
    // Llama 3.1 code interpreter: the rest of the reply is Python code.
    if (!final) return false;
    add_tool_call(delta, {{"name", "python"}, {"arguments", {{"code", std::string(trim(buffer_))}}}});
    buffer_.clear();
    state_ = State::kContent;
    return true;
  }
  const size_t end = json_value_end(buffer_);
  if (end == std::string_view::npos && !final) return false;
  const std::string_view text =
      std::string_view(buffer_).substr(0, end == std::string_view::npos ? buffer_.size() : end);
  const nlohmann::ordered_json j = parse_json(trim(text));
  bool ok = !j.is_discarded();
  if (ok && j.is_array()) {
    for (const auto& call : j) ok = add_tool_call(delta, call) && ok;
  } else if (ok) {
    ok = add_tool_call(delta, j);
  }
  if (!ok) emit_content(delta, std::string(python_tag_ ? kPythonTag : kMistralOpen) + std::string(text));
  buffer_.erase(0, text.size());
  state_ = State::kContent;
  skip_whitespace_ = true;
  return true;
}

bool ChatOutputParser::step_whole_json(ParsedMessage& delta, bool final) {
  const size_t end = json_value_end(buffer_);
  if (end == std::string_view::npos) {
    if (!final) return false;
    state_ = State::kContent;  // never completed: plain content
    content_started_ = true;
    return true;
  }
  const nlohmann::ordered_json j = parse_json(std::string_view(buffer_).substr(0, end));
  bool handled = false;
  if (j.is_object()) {
    if (j.contains("tool_calls") && j["tool_calls"].is_array() && wants(ToolCallFormat::kGeneric)) {
      handled = true;
      for (const auto& call : j["tool_calls"]) handled = add_tool_call(delta, call) && handled;
    } else if (j.contains("tool_call") && wants(ToolCallFormat::kGeneric)) {
      handled = add_tool_call(delta, j["tool_call"]);
    } else if (j.contains("response") && j["response"].is_string() && j.size() == 1 &&
               wants(ToolCallFormat::kGeneric)) {
      emit_content(delta, j["response"].get<std::string>());
      handled = true;
    } else if (j.contains("name") && (j.contains("parameters") || j.contains("arguments"))) {
      handled = add_tool_call(delta, j);
    }
  }
  if (handled) {
    buffer_.erase(0, end);
    skip_whitespace_ = true;
  }
  content_started_ = true;  // text after the JSON (or the JSON itself) is content
  state_ = State::kContent;
  return true;
}

}  // namespace tessera::chat
