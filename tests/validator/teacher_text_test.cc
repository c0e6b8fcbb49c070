// The teacher's challenge text (validator/teacher_text.h) from a real model:
// the secret decides the stream, and a public window is never completed.
#include "validator/teacher_text.h"

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "miner/gpt.h"
#include "miner/model.h"
#include "tests/common/temp_dir.h"
#include "validator/public_windows.h"

namespace agora::validator {
namespace {

std::unique_ptr<miner::ModelBackend> ByteModel(const std::string& dir) {
  miner::GptConfig c;
  c.context = 32;
  c.layers = 1;
  c.dim = 16;
  c.heads = 2;
  miner::LoadedGpt g = miner::FreshGpt(c, 3);
  EXPECT_TRUE(miner::SaveCheckpoint(g.model, miner::TrainFacts{}, dir).ok());
  miner::ModelSpec spec;
  spec.checkpoint_dir = dir;
  spec.force_cpu = true;
  absl::StatusOr<std::unique_ptr<miner::ModelBackend>> m = miner::LoadModel(spec);
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? std::move(*m) : nullptr;
}

Hash256 Secret(uint8_t b) {
  Hash256 h{};
  h.fill(b);
  return h;
}

TEST(TeacherTextTest, TheSecretDecidesTheStreamAndPublicWindowsNeverAppear) {
  testing::TempDir tmp;
  std::unique_ptr<miner::ModelBackend> model = ByteModel(tmp.Sub("teacher"));
  ASSERT_NE(model, nullptr);
  auto text = [&](uint8_t secret, const PublicWindows* exclude, size_t n, uint64_t* refused) {
    absl::StatusOr<TeacherText> t = TeacherText::Create(model.get(), Secret(secret), 1.0, exclude);
    EXPECT_TRUE(t.ok()) << t.status();
    std::string out;
    for (size_t i = 0; i < n; i += 100) {  // in pieces, as the command writes it
      absl::StatusOr<std::string> piece = t->Next(std::min<size_t>(100, n - i));
      EXPECT_TRUE(piece.ok()) << piece.status();
      out += *piece;
    }
    if (refused != nullptr) *refused = t->refused();
    return out;
  };
  const std::string a = text(1, nullptr, 1500, nullptr);
  EXPECT_EQ(a.size(), 1500u);
  EXPECT_EQ(text(1, nullptr, 1500, nullptr), a);  // same secret, same stream
  EXPECT_NE(text(2, nullptr, 1500, nullptr), a);  // another secret, another

  // Made public: what secret 1 writes. The same secret then refuses the
  // byte that would complete each public window and goes elsewhere.
  const PublicWindows published = PublicWindows::Of(a.substr(0, 1000));
  ASSERT_TRUE(published.FirstShared(a).has_value());
  uint64_t refused = 0;
  const std::string b = text(1, &published, 1500, &refused);
  EXPECT_GT(refused, 0u);
  EXPECT_FALSE(published.FirstShared(b).has_value());
  EXPECT_EQ(b.substr(0, 31), a.substr(0, 31));  // the same draws until the first window

  EXPECT_FALSE(TeacherText::Create(model.get(), Secret(1), 0.0, nullptr).ok());
  EXPECT_FALSE(TeacherText::Create(nullptr, Secret(1), 1.0, nullptr).ok());
}

}  // namespace
}  // namespace agora::validator
