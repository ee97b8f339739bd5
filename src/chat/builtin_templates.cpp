// Built-in chat templates for models whose GGUF carries no `tokenizer.chat_template`, selected by
// name (`--chat-template chatml`). Written as Jinja so they run through the same engine; the
// formats follow the model families' published templates. Message content may be a string or a
// list of parts ({"type": "text", "text": ...}); non-text parts are skipped.
#include <array>
#include <string_view>
#include <utility>

#include "chat/chat_template.h"

namespace tessera::chat {
namespace {

// Shared prelude: `text(content)` flattens string or list-of-parts content.
#define TESSERA_CONTENT_MACRO                                                                             \
  "{%- macro text(c) -%}{%- if c is string -%}{{ c }}{%- elif c is iterable and c is not mapping -%}"     \
  "{%- for p in c -%}{%- if p is mapping and p.type == 'text' -%}{{ p.text }}{%- endif -%}{%- endfor -%}" \
  "{%- endif -%}{%- endmacro -%}"

constexpr std::string_view kChatml = TESSERA_CONTENT_MACRO
    "{%- for message in messages -%}"
    "{{ '<|im_start|>' + message.role + '\\n' + text(message.content) + '<|im_end|>\\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\\n' }}{%- endif -%}";

constexpr std::string_view kLlama2 = TESSERA_CONTENT_MACRO
    "{%- if messages and messages[0].role == 'system' -%}"
    "{%- set loop_messages = messages[1:] -%}{%- set system_message = text(messages[0].content) -%}"
    "{%- else -%}{%- set loop_messages = messages -%}{%- set system_message = none -%}{%- endif -%}"
    "{%- for message in loop_messages -%}"
    "{%- if (message.role == 'user') != (loop.index0 % 2 == 0) -%}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{%- endif -%}"
    "{%- if loop.index0 == 0 and system_message is not none -%}"
    "{%- set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + text(message.content) -%}"
    "{%- else -%}{%- set content = text(message.content) -%}{%- endif -%}"
    "{%- if message.role == 'user' -%}{{ (bos_token or '') + '[INST] ' + content | trim + ' [/INST]' }}"
    "{%- elif message.role == 'assistant' -%}{{ ' ' + content | trim + ' ' + (eos_token or '') }}{%- endif -%}"
    "{%- endfor -%}";

constexpr std::string_view kLlama3 = TESSERA_CONTENT_MACRO
    "{{ bos_token or '' }}"
    "{%- for message in messages -%}"
    "{{ '<|start_header_id|>' + message.role + '<|end_header_id|>\\n\\n' + text(message.content) | trim + "
    "'<|eot_id|>' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif -%}";

constexpr std::string_view kGemma = TESSERA_CONTENT_MACRO
    "{{ bos_token or '' }}"
    "{%- if messages and messages[0].role == 'system' -%}"
    "{%- set first_user_prefix = text(messages[0].content) + '\\n\\n' -%}{%- set loop_messages = messages[1:] -%}"
    "{%- else -%}{%- set first_user_prefix = '' -%}{%- set loop_messages = messages -%}{%- endif -%}"
    "{%- for message in loop_messages -%}"
    "{%- set role = 'model' if message.role == 'assistant' else message.role -%}"
    "{{ '<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first else '') + text(message.content) | trim + "
    "'<end_of_turn>\\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<start_of_turn>model\\n' }}{%- endif -%}";

constexpr std::string_view kMistral = TESSERA_CONTENT_MACRO
    "{{ bos_token or '' }}"
    "{%- if messages and messages[0].role == 'system' -%}"
    "{%- set system_message = text(messages[0].content) + '\\n\\n' -%}{%- set loop_messages = messages[1:] -%}"
    "{%- else -%}{%- set system_message = '' -%}{%- set loop_messages = messages -%}{%- endif -%}"
    "{%- for message in loop_messages -%}"
    "{%- if message.role == 'user' -%}"
    "{{ '[INST] ' + (system_message if loop.first else '') + text(message.content) + ' [/INST]' }}"
    "{%- elif message.role == 'assistant' -%}{{ ' ' + text(message.content) + (eos_token or '') }}{%- endif -%}"
    "{%- endfor -%}";

constexpr std::string_view kPhi3 = TESSERA_CONTENT_MACRO
    "{%- for message in messages -%}"
    "{{ '<|' + message.role + '|>\\n' + text(message.content) + '<|end|>\\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|assistant|>\\n' }}{%- endif -%}";

constexpr std::string_view kZephyr = TESSERA_CONTENT_MACRO
    "{%- for message in messages -%}"
    "{{ '<|' + message.role + '|>\\n' + text(message.content) + (eos_token or '</s>') + '\\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|assistant|>\\n' }}{%- endif -%}";

constexpr std::string_view kVicuna = TESSERA_CONTENT_MACRO
    "{%- for message in messages -%}"
    "{%- if message.role == 'system' -%}{{ text(message.content) + '\\n\\n' }}"
    "{%- elif message.role == 'user' -%}{{ 'USER: ' + text(message.content) + '\\n' }}"
    "{%- elif message.role == 'assistant' -%}{{ 'ASSISTANT: ' + text(message.content) + (eos_token or '</s>') + '\\n' "
    "}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ 'ASSISTANT:' }}{%- endif -%}";

#undef TESSERA_CONTENT_MACRO

constexpr std::array<std::pair<std::string_view, std::string_view>, 8> kTemplates = {{
    {"chatml", kChatml},
    {"llama2", kLlama2},
    {"llama3", kLlama3},
    {"gemma", kGemma},
    {"mistral", kMistral},
    {"phi3", kPhi3},
    {"zephyr", kZephyr},
    {"vicuna", kVicuna},
}};

}  // namespace

std::vector<std::string> builtin_template_names() {
  std::vector<std::string> names;
  for (const auto& [name, _] : kTemplates) names.emplace_back(name);
  return names;
}

std::optional<std::string_view> builtin_template_source(std::string_view name) {
  for (const auto& [n, source] : kTemplates) {
    if (n == name) return source;
  }
  return std::nullopt;
}

}  // namespace tessera::chat
