// F32 / F16 / BF16 "quantization": element-wise conversions (round to nearest even, as numpy and
// ggml convert). Importance weights cannot change an element-wise rounding, so they are ignored.
#include <cstring>

#include "quant/float16.h"
#include "quant/quant_impl.h"

namespace tessera::quant {

void dequantize_f32(const void* blocks, float* out, int64_t n) {
  if (n > 0) std::memcpy(out, blocks, static_cast<size_t>(n) * sizeof(float));
}

void quantize_f32(const float* in, void* blocks, int64_t n, const float* /*importance*/) {
  if (n > 0) std::memcpy(blocks, in, static_cast<size_t>(n) * sizeof(float));
}

void dequantize_f16(const void* blocks, float* out, int64_t n) {
  const auto* h = static_cast<const uint8_t*>(blocks);
  for (int64_t i = 0; i < n; ++i) out[i] = f16_to_f32(detail::load_u16(h + 2 * i));
}

void quantize_f16(const float* in, void* blocks, int64_t n, const float* /*importance*/) {
  auto* h = static_cast<uint8_t*>(blocks);
  for (int64_t i = 0; i < n; ++i) detail::store_u16(h + 2 * i, f32_to_f16(in[i]));
}

void dequantize_bf16(const void* blocks, float* out, int64_t n) {
  const auto* h = static_cast<const uint8_t*>(blocks);
  for (int64_t i = 0; i < n; ++i) out[i] = bf16_to_f32(detail::load_u16(h + 2 * i));
}

void quantize_bf16(const float* in, void* blocks, int64_t n, const float* /*importance*/) {
  auto* h = static_cast<uint8_t*>(blocks);
  for (int64_t i = 0; i < n; ++i) detail::store_u16(h + 2 * i, f32_to_bf16(in[i]));
}

}  // namespace tessera::quant
