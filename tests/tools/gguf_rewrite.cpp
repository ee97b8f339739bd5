// gguf_rewrite IN OUT: reads IN with Tessera's reader and writes every key and tensor to OUT with
// Tessera's writer. The e2e tests feed the result to gguf-py to check the writer against it.
#include <fmt/format.h>

#include "gguf/gguf_file.h"
#include "gguf/writer.h"

int main(int argc, char** argv) {
  using namespace tessera::gguf;
  if (argc != 3) {
    fmt::print(stderr, "usage: gguf_rewrite IN.gguf OUT.gguf\n");
    return 2;
  }
  tessera::Result<GgufFile> in = GgufFile::open(argv[1]);
  if (!in) {
    fmt::print(stderr, "error: {}\n", in.error());
    return 1;
  }
  GgufWriter out;
  for (const KeyValue& kv : in->metadata()) out.set_value(kv.key, kv.value);
  for (const TensorInfo& t : in->tensors()) {
    tessera::Status s =
        out.add_tensor(t.name, t.type, std::span(t.shape.data(), t.n_dims), std::span(t.data, t.n_bytes));
    if (!s) {
      fmt::print(stderr, "error: {}\n", s.message());
      return 1;
    }
  }
  if (tessera::Status s = out.write(argv[2]); !s) {
    fmt::print(stderr, "error: {}\n", s.message());
    return 1;
  }
  return 0;
}
