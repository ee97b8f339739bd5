#include "gguf/gguf_file.h"

#include <fmt/format.h>

#include <cctype>
#include <optional>

namespace tessera::gguf {
namespace {

constexpr std::string_view kSplitSuffix = "-00001-of-00000.gguf";  // shape of the suffix only

// Splits "NAME-0000i-of-0000n.gguf" into NAME; nullopt when the path is not named that way.
std::optional<std::string> split_prefix(const std::string& path) {
  if (path.size() <= kSplitSuffix.size()) return std::nullopt;
  const std::string_view suffix = std::string_view(path).substr(path.size() - kSplitSuffix.size());
  for (size_t i = 0; i < kSplitSuffix.size(); ++i) {
    const bool digit_expected = std::isdigit(static_cast<unsigned char>(kSplitSuffix[i])) != 0;
    const bool is_digit = std::isdigit(static_cast<unsigned char>(suffix[i])) != 0;
    if (digit_expected ? !is_digit : suffix[i] != kSplitSuffix[i]) return std::nullopt;
  }
  return path.substr(0, path.size() - kSplitSuffix.size());
}

std::optional<uint16_t> u16_key(const ParsedGguf& part, std::string_view key) {
  const Value* v = part.find(key);
  return v ? v->get<uint16_t>() : std::nullopt;
}

}  // namespace

std::string split_file_path(std::string_view prefix, uint32_t split_no, uint32_t split_count) {
  return fmt::format("{}-{:05d}-of-{:05d}.gguf", prefix, split_no, split_count);
}

Result<GgufFile> GgufFile::open(const std::string& path) {
  GgufFile file;
  if (Status s = file.add_part(path); !s) return s;
  const uint16_t split_count = u16_key(file.parts_[0], "split.count").value_or(1);
  const uint16_t split_no = u16_key(file.parts_[0], "split.no").value_or(0);
  if (split_no != 0) {
    const std::string first = split_file_path(split_prefix(path).value_or("NAME"), 1, split_count);
    return Status::error(
        fmt::format("{}: this is split {} of {}; open the first split ({})", path, split_no + 1, split_count, first));
  }
  if (split_count > 1) {
    if (Status s = file.open_remaining_splits(split_count); !s) return s;
  }
  if (const Value* expected = file.find("split.tensors.count")) {
    const int32_t count = *expected->get<int32_t>();
    if (count < 0 || static_cast<size_t>(count) != file.tensors_.size()) {
      return Status::error(fmt::format("{}: split.tensors.count = {} but the {} file(s) hold {} tensors", path, count,
                                       split_count, file.tensors_.size()));
    }
  }
  return file;
}

Status GgufFile::open_remaining_splits(uint16_t split_count) {
  const std::optional<std::string> prefix = split_prefix(files_[0].path());
  if (!prefix) {
    return Status::error(
        fmt::format("{}: split.count = {}, but the file is not named NAME-00001-of-{:05d}.gguf, "
                    "so the other splits cannot be found",
                    files_[0].path(), split_count, split_count));
  }
  for (uint32_t i = 1; i < split_count; ++i) {
    if (Status s = add_part(split_file_path(*prefix, i + 1, split_count)); !s) return s;
    const ParsedGguf& part = parts_.back();
    const std::optional<uint16_t> no = u16_key(part, "split.no");
    const std::optional<uint16_t> count = u16_key(part, "split.count");
    if (no != i || count != split_count) {
      return Status::error(fmt::format("{}: expected split.no = {} and split.count = {}, found {} and {}",
                                       files_.back().path(), i, split_count, no ? fmt::format("{}", *no) : "none",
                                       count ? fmt::format("{}", *count) : "none"));
    }
  }
  return {};
}

Status GgufFile::add_part(std::string path) {
  Result<MappedFile> mapped = MappedFile::open(path);
  if (!mapped) return mapped.status();
  Result<ParsedGguf> parsed = parse_gguf(mapped->bytes(), mapped->path());
  if (!parsed) return parsed.status();
  const auto split = static_cast<uint32_t>(parts_.size());
  for (TensorInfo t : parsed->tensors) {
    t.split = split;
    if (!tensor_index_.emplace(t.name, tensors_.size()).second) {
      return Status::error(fmt::format("{}: tensor '{}' also appears in {}", mapped->path(), t.name,
                                       files_[tensors_[tensor_index_[t.name]].split].path()));
    }
    tensors_.push_back(t);
  }
  files_.push_back(std::move(mapped.value()));
  parts_.push_back(std::move(parsed.value()));
  return {};
}

const TensorInfo* GgufFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

uint64_t GgufFile::total_file_size() const {
  uint64_t total = 0;
  for (const MappedFile& f : files_) total += f.bytes().size();
  return total;
}

}  // namespace tessera::gguf
