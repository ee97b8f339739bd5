#include "commands.h"

namespace tessera::tools {

// TESSERA_DEFAULT_MODEL is set by CMake to where ./setup.sh assembles the default model.
std::string default_model_path() {
  return TESSERA_DEFAULT_MODEL;
}

}  // namespace tessera::tools
