// Activation quantizers for the dot kernels: thin wrappers over the reference quantizers of the
// type table (src/quant/*_quants.cpp), so activations are bit-identical to what ggml and gguf-py
// produce. The SIMD kernels rely on one property of them, checked by dot_kernels_test: int8
// quants stay in [-127, 127] (the kernels move a weight's sign onto the activation, which would
// overflow for -128). These are the scalar table's; AVX-512 tables replace Q8_0 and Q8_K with the
// byte-identical versions of activation_quant_avx512.cpp (activation_quant_test checks them).
#include "quant/kernels/kernels.h"
#include "quant/quant_impl.h"

namespace tessera::quant::isa_kernels {

void quantize_row_q8_0(const float* x, void* out, int64_t n) {
  quantize_q8_0(x, out, n, nullptr);
}
void quantize_row_q8_1(const float* x, void* out, int64_t n) {
  quantize_q8_1(x, out, n, nullptr);
}
void quantize_row_q8_k(const float* x, void* out, int64_t n) {
  quantize_q8_k(x, out, n, nullptr);
}
void convert_row_f32(const float* x, void* out, int64_t n) {
  quantize_f32(x, out, n, nullptr);
}
void convert_row_f16(const float* x, void* out, int64_t n) {
  quantize_f16(x, out, n, nullptr);
}
void convert_row_bf16(const float* x, void* out, int64_t n) {
  quantize_bf16(x, out, n, nullptr);
}

}  // namespace tessera::quant::isa_kernels
