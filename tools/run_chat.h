// `tessera run -cnv`: an interactive chat on stdin/stdout formatted with the model's chat
// template (src/chat/), reusing the KV cache across turns.
#pragma once

#include "run_options.h"
#include "run_session.h"

namespace tessera::tools {

// True when -cnv was given (plain completion otherwise, even for models with a template).
bool use_chat_mode(const RunSession& session, const RunOptions& options);

// Runs the chat loop until EOF, /exit, Ctrl-C or (with -st) the first answer. Returns the exit code.
int run_chat(RunSession& session, const RunOptions& options, RunLog& log);

}  // namespace tessera::tools
