#include "protocol/refusal.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace agora::protocol {
namespace {

TEST(RefusalTest, EveryReasonHasAUniqueStableString) {
  std::set<std::string> seen;
  for (int r = static_cast<int>(Reason::kOversize); r <= static_cast<int>(Reason::kInternal); ++r) {
    const Reason reason = static_cast<Reason>(r);
    const std::string text(ReasonString(reason));
    EXPECT_TRUE(seen.insert(text).second) << text;
    EXPECT_EQ(ReasonFromString(text), reason);
  }
  EXPECT_EQ(seen.size(), 17u);
  EXPECT_EQ(ReasonString(Reason::kBadSignature), "bad-signature");
  EXPECT_EQ(ReasonString(Reason::kReplayedNonce), "replayed-nonce");
  EXPECT_FALSE(ReasonFromString("no-such-reason").has_value());
}

TEST(RefusalTest, StatusCarriesReasonAndDetail) {
  absl::Status s = Refuse(Reason::kStaleTimestamp, "envelope.timestamp: 91 s behind (limit 30 s)");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "stale-timestamp: envelope.timestamp: 91 s behind (limit 30 s)");
  EXPECT_EQ(ReasonOf(s), Reason::kStaleTimestamp);
  EXPECT_FALSE(ReasonOf(absl::InternalError("x")).has_value());
  EXPECT_FALSE(ReasonOf(absl::OkStatus()).has_value());
}

}  // namespace
}  // namespace agora::protocol
