// Tokenizers: text <-> token ids for generate requests given as text. The
// default is byte-level (token = byte, 256 tokens), which is what agora-train
// trains on. A vocabulary file gives other models their tokens: one token per
// line, "\n", "\t", "\\" and "\xHH" escapes allowed, line i is token id i;
// text is encoded by greedy longest match, and a byte no token covers is
// refused. Thread-safe after construction (const methods only).
#ifndef AGORA_MINER_TOKENIZER_H_
#define AGORA_MINER_TOKENIZER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace agora::miner {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // InvalidArgument if some part of `text` has no token.
  virtual absl::StatusOr<std::vector<uint32_t>> Encode(absl::string_view text) const = 0;
  // Ids the tokenizer does not know decode to nothing. Token by token:
  // Decode(a + b) == Decode(a) + Decode(b), which streaming relies on.
  virtual std::string Decode(absl::Span<const uint32_t> tokens) const = 0;
  virtual uint32_t vocab_size() const = 0;
};

class ByteTokenizer : public Tokenizer {
 public:
  absl::StatusOr<std::vector<uint32_t>> Encode(absl::string_view text) const override;
  std::string Decode(absl::Span<const uint32_t> tokens) const override;
  uint32_t vocab_size() const override { return 256; }
};

class VocabTokenizer : public Tokenizer {
 public:
  // Parses a vocabulary file's text (see above). InvalidArgument naming the
  // line for a bad escape, an empty or duplicate token, or over 1M tokens.
  static absl::StatusOr<std::unique_ptr<VocabTokenizer>> Parse(absl::string_view text);
  static absl::StatusOr<std::unique_ptr<VocabTokenizer>> Load(const std::string& path);

  absl::StatusOr<std::vector<uint32_t>> Encode(absl::string_view text) const override;
  std::string Decode(absl::Span<const uint32_t> tokens) const override;
  uint32_t vocab_size() const override { return static_cast<uint32_t>(tokens_.size()); }

 private:
  std::vector<std::string> tokens_;
  absl::flat_hash_map<std::string, uint32_t> ids_;
  size_t longest_ = 0;
};

}  // namespace agora::miner

#endif  // AGORA_MINER_TOKENIZER_H_
