#include "miner/tokenizer.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/file_util.h"

namespace agora::miner {
namespace {

constexpr size_t kMaxVocab = 1u << 20;
constexpr size_t kMaxVocabFileBytes = 64u << 20;

absl::StatusOr<std::string> Unescape(absl::string_view line, size_t line_no) {
  std::string out;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] != '\\') {
      out.push_back(line[i]);
      continue;
    }
    if (i + 1 >= line.size()) {
      return absl::InvalidArgumentError(absl::StrCat("vocab line ", line_no, ": trailing '\\'"));
    }
    const char c = line[++i];
    if (c == 'n') {
      out.push_back('\n');
    } else if (c == 't') {
      out.push_back('\t');
    } else if (c == 'r') {
      out.push_back('\r');
    } else if (c == '\\') {
      out.push_back('\\');
    } else if (c == 'x' && i + 2 < line.size()) {
      int v = 0;
      if (!absl::SimpleHexAtoi(line.substr(i + 1, 2), &v)) {
        return absl::InvalidArgumentError(absl::StrCat("vocab line ", line_no, ": bad \\x escape"));
      }
      out.push_back(static_cast<char>(v));
      i += 2;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("vocab line ", line_no, ": bad escape"));
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<uint32_t>> ByteTokenizer::Encode(absl::string_view text) const {
  std::vector<uint32_t> out(text.size());
  for (size_t i = 0; i < text.size(); ++i) out[i] = static_cast<unsigned char>(text[i]);
  return out;
}

std::string ByteTokenizer::Decode(absl::Span<const uint32_t> tokens) const {
  std::string out;
  out.reserve(tokens.size());
  for (uint32_t t : tokens) {
    if (t < 256) out.push_back(static_cast<char>(t));
  }
  return out;
}

absl::StatusOr<std::unique_ptr<VocabTokenizer>> VocabTokenizer::Parse(absl::string_view text) {
  auto tok = std::unique_ptr<VocabTokenizer>(new VocabTokenizer());
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  size_t line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    if (tok->tokens_.size() >= kMaxVocab) {
      return absl::InvalidArgumentError(absl::StrCat("vocab: more than ", kMaxVocab, " tokens"));
    }
    absl::StatusOr<std::string> t = Unescape(line, line_no);
    if (!t.ok()) return t.status();
    if (t->empty()) return absl::InvalidArgumentError(absl::StrCat("vocab line ", line_no, ": empty token"));
    if (!tok->ids_.emplace(*t, static_cast<uint32_t>(tok->tokens_.size())).second) {
      return absl::InvalidArgumentError(absl::StrCat("vocab line ", line_no, ": duplicate token"));
    }
    tok->longest_ = std::max(tok->longest_, t->size());
    tok->tokens_.push_back(std::move(*t));
  }
  if (tok->tokens_.empty()) return absl::InvalidArgumentError("vocab: no tokens");
  return tok;
}

absl::StatusOr<std::unique_ptr<VocabTokenizer>> VocabTokenizer::Load(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path, kMaxVocabFileBytes);
  if (!text.ok()) return text.status();
  return Parse(*text);
}

absl::StatusOr<std::vector<uint32_t>> VocabTokenizer::Encode(absl::string_view text) const {
  std::vector<uint32_t> out;
  size_t i = 0;
  while (i < text.size()) {
    size_t n = std::min(longest_, text.size() - i);
    for (; n > 0; --n) {
      auto it = ids_.find(text.substr(i, n));
      if (it != ids_.end()) {
        out.push_back(it->second);
        break;
      }
    }
    if (n == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("text: byte ", i, " (0x", absl::Hex(static_cast<unsigned char>(text[i])),
                       ") has no token in the vocabulary"));
    }
    i += n;
  }
  return out;
}

std::string VocabTokenizer::Decode(absl::Span<const uint32_t> tokens) const {
  std::string out;
  for (uint32_t t : tokens) {
    if (t < tokens_.size()) out += tokens_[t];
  }
  return out;
}

}  // namespace agora::miner
