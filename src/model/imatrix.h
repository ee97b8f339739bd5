// Importance matrices (imatrix) in llama.cpp's GGUF format, as written by llama-imatrix:
// for each weight W, tensors "W.in_sum2" [n_cols, n_mat] (sums of squared activations per
// column) and "W.counts" [n_mat] (how many activations were summed). The importance of column i
// of matrix j is in_sum2[j][i] / counts[j]; a matrix that saw no input gets 1 everywhere.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "tessera/status.h"

namespace tessera::model {

struct ImportanceMatrix {
  std::unordered_map<std::string, std::vector<float>> weights;  // tensor name -> [n_mat * n_cols]
  std::vector<std::string> datasets;                            // imatrix.datasets
  uint32_t chunk_count = 0;                                     // imatrix.chunk_count
};

Result<ImportanceMatrix> load_imatrix(const std::string& path);

}  // namespace tessera::model
