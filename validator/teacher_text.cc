#include "validator/teacher_text.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "miner/handlers.h"

namespace agora::validator {

absl::StatusOr<TeacherText> TeacherText::Create(miner::ModelBackend* model, const Hash256& secret,
                                                double temperature, const PublicWindows* exclude) {
  if (model == nullptr) return absl::InvalidArgumentError("teacher: no model");
  if (model->vocab_size() != 256) {
    return absl::InvalidArgumentError(absl::StrCat(
        "teacher: the model's vocabulary has ", model->vocab_size(),
        " tokens; challenge text is bytes, so the teacher must be a byte-level model (256)"));
  }
  if (!(temperature > 0 && temperature <= 10)) {
    return absl::InvalidArgumentError("teacher: temperature must be in (0, 10]");
  }
  return TeacherText(model, secret, temperature, exclude);
}

double TeacherText::Uniform() {
  uint8_t in[sizeof(Hash256) + 8];
  std::memcpy(in, secret_.data(), secret_.size());
  for (int i = 0; i < 8; ++i) in[secret_.size() + i] = static_cast<uint8_t>(counter_ >> (8 * i));
  ++counter_;
  const uint64_t x = First64(Blake2b256(absl::Span<const uint8_t>(in, sizeof(in))));
  return static_cast<double>(x >> 11) * 0x1.0p-53;
}

absl::StatusOr<std::string> TeacherText::Next(size_t n) {
  std::string out;
  out.reserve(n);
  const size_t context = std::max<uint32_t>(2, model_->max_context());
  while (out.size() < n) {
    // The model sees the text since `from_`: it grows a byte at a time (one
    // cached decode step each) until the model's context is full, then
    // starts again from its last half (one pass over half a context). So
    // every byte follows at least half a context of text, and a byte costs
    // about two tokens' work instead of a whole context's.
    if (tail_.size() - from_ >= context) from_ = tail_.size() - context / 2;
    row_.clear();
    for (size_t i = from_; i < tail_.size(); ++i) row_.push_back(static_cast<uint8_t>(tail_[i]));
    absl::StatusOr<miner::Logits> logits = model_->DecodeStep({row_}, {kSequence});
    if (!logits.ok()) return logits.status();
    const absl::Span<const float> row = logits->Row(0);
    logits_.assign(row.begin(), row.end());
    // The window the byte would complete: the last kPublicWindow - 1 bytes and it.
    std::string window = tail_.size() >= kPublicWindow - 1
                             ? tail_.substr(tail_.size() - (kPublicWindow - 1))
                             : std::string();
    for (size_t refused_here = 0;; ++refused_here) {
      if (refused_here == logits_.size()) {
        return absl::InternalError("teacher: every byte would complete a public window");
      }
      // A refused byte's logit is -inf: the draw is from the rest, renormalized.
      const uint32_t pick =
          sampler_.Sample(logits_, static_cast<float>(temperature_), 0, 1.0f, Uniform()).token;
      if (exclude_ != nullptr && !window.empty()) {
        window.push_back(static_cast<char>(pick));
        const bool shared = exclude_->Contains(window);
        window.pop_back();
        if (shared) {
          ++refused_;
          logits_[pick] = -std::numeric_limits<float>::infinity();
          continue;
        }
      }
      tail_.push_back(static_cast<char>(pick));
      out.push_back(static_cast<char>(pick));
      break;
    }
    // Keep what the model and the window need, no more.
    const size_t keep = std::max(context, kPublicWindow);
    if (tail_.size() > 4 * keep && from_ > keep) {
      const size_t drop = std::min(from_, tail_.size() - keep);
      tail_.erase(0, drop);
      from_ -= drop;
    }
  }
  return out;
}

}  // namespace agora::validator
