// Non-x86 builds: no SIMD kernels yet (NEON later); the scalar references serve every ISA slot,
// which dispatch never selects anyway because isa_supported() is false for them.
#include "quant/kernels/kernels.h"

namespace tessera::quant::isa_kernels {

void register_avx2_kernels(KernelTable&) {}
void register_avx2_gemm_kernels(KernelTable&) {}
void register_avx512_kernels(KernelTable&) {}
void register_avx512_gemm_kernels(KernelTable&) {}
void register_avx512_matvec_kernels(KernelTable&) {}
void register_avx512_activation_quantizers(KernelTable&) {}

}  // namespace tessera::quant::isa_kernels
