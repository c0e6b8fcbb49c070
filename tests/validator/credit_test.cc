// The gateway's credit decision (validator/credit.h): free tokens first,
// then account units, and holds that keep concurrent requests from
// spending the same credit twice.
#include "validator/credit.h"

#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace agora::validator {
namespace {

TEST(CreditTest, NoPriceAndNoLimitIsUnlimited) {
  absl::StatusOr<CreditGrant> g = DecideCredit(CreditState{}, 64);
  ASSERT_TRUE(g.ok());
  EXPECT_TRUE(g->unlimited);
  EXPECT_EQ(g->max_tokens, 64u);
  EXPECT_EQ(g->free_tokens, 0u);
  EXPECT_EQ(g->units, 0u);
}

TEST(CreditTest, FreeTokensLowerMaxTokensWhenNothingElsePays) {
  CreditState s;
  s.credit_tokens = 100;
  s.used_tokens = 90;
  absl::StatusOr<CreditGrant> g = DecideCredit(s, 64);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->max_tokens, 10u);
  EXPECT_EQ(g->free_tokens, 10u);
  s.used_tokens = 100;
  g = DecideCredit(s, 64);
  ASSERT_FALSE(g.ok());
  EXPECT_TRUE(absl::IsResourceExhausted(g.status()));
  EXPECT_TRUE(absl::StrContains(g.status().message(), "0 free tokens left")) << g.status();
}

TEST(CreditTest, AccountPaysWhatFreeTokensDoNot) {
  CreditState s;
  s.credit_tokens = 10;
  s.used_tokens = 4;  // 6 free left
  s.price = 1000;
  s.has_account = true;
  s.balance = 20'000;
  absl::StatusOr<CreditGrant> g = DecideCredit(s, 26);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->max_tokens, 26u);
  EXPECT_EQ(g->free_tokens, 6u);
  EXPECT_EQ(g->units, 20'000u);
  g = DecideCredit(s, 27);  // one token more than free + balance cover
  ASSERT_FALSE(g.ok());
  EXPECT_TRUE(absl::StrContains(g.status().message(), "may cost 21000")) << g.status();
  s.balance = -5;  // never treated as a large unsigned number
  EXPECT_FALSE(DecideCredit(s, 7).ok());
  s.has_account = false;  // with free tokens left, max_tokens is cut to them
  g = DecideCredit(s, 7);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->max_tokens, 6u);
  s.used_tokens = 10;  // none left, and nothing else pays
  g = DecideCredit(s, 7);
  ASSERT_FALSE(g.ok());
  EXPECT_TRUE(absl::StrContains(g.status().message(), "no paying account")) << g.status();
}

TEST(CreditTest, HoldsKeepConcurrentRequestsFromOverdrawing) {
  CreditHolds holds;
  CreditState s;
  s.price = 100;
  s.has_account = true;
  const int64_t deposited = 1000;  // enough for 10 tokens
  int granted = 0;
  // Four requests of 4 tokens arrive before any is charged: only two fit.
  std::vector<CreditGrant> in_flight;
  for (int i = 0; i < 4; ++i) {
    s.balance = deposited - static_cast<int64_t>(holds.units("acct"));
    absl::StatusOr<CreditGrant> g = DecideCredit(s, 4);
    if (!g.ok()) continue;
    holds.Add("key", "acct", *g);
    in_flight.push_back(*g);
    ++granted;
  }
  EXPECT_EQ(granted, 2);
  EXPECT_EQ(holds.units("acct"), 800u);
  for (const CreditGrant& g : in_flight) holds.Release("key", "acct", g);
  EXPECT_EQ(holds.units("acct"), 0u);
  EXPECT_EQ(holds.free_tokens("key"), 0u);
  holds.Release("key", "acct", in_flight[0]);  // a second release cannot go below zero
  EXPECT_EQ(holds.units("acct"), 0u);
}

}  // namespace
}  // namespace agora::validator
