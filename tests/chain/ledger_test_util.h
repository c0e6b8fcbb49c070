// Helpers for the ledger tests (tests/chain/ledger_*_test.cc): deterministic
// keys, a genesis text builder, and SubmitTx(), which takes a transaction
// through the same steps as Ledger::Submit (encode, DecodeSignedTx, VerifyTx,
// ApplyTx) on a plain ChainState, so every test stays pure: no store, no
// socket, no clock.
//
// Not thread-safe (tests mutate their own states).
#ifndef AGORA_TESTS_CHAIN_LEDGER_TEST_UTIL_H_
#define AGORA_TESTS_CHAIN_LEDGER_TEST_UTIL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "chain/apply.h"
#include "chain/block.h"
#include "chain/genesis.h"
#include "chain/state.h"
#include "chain/tx.h"
#include "chain/tx_reject.h"
#include "common/address.h"
#include "common/crypto.h"
#include "gtest/gtest.h"
#include "protocol/codec.h"

namespace agora::chain::testing {

// The key derived from `name` (same name, same key, in every run).
inline SigningKey TestKey(absl::string_view name) {
  const Hash256 seed = Blake2b256(absl::StrCat("agora-ledger-test-key:", name));
  absl::StatusOr<SigningKey> key = SigningKey::FromSeed(seed);
  if (!key.ok()) std::abort();  // FromSeed only fails if libsodium cannot start
  return std::move(*key);
}

inline std::string Addr(const SigningKey& key) { return EncodeAddress(key.public_key()); }

// The signer's next nonce without creating an account entry.
inline uint64_t NextNonce(const ChainState& state, const PublicKey& signer) {
  auto it = state.accounts.find(signer);
  return it == state.accounts.end() ? 0 : it->second.nonce;
}
inline Amount Balance(const ChainState& state, const PublicKey& who) {
  auto it = state.accounts.find(who);
  return it == state.accounts.end() ? 0 : it->second.balance;
}
inline Amount StakeOf(const ChainState& state, const PublicKey& hotkey, const PublicKey& coldkey) {
  auto it = state.stake.find({hotkey, coldkey});
  return it == state.stake.end() ? 0 : it->second;
}

// What Ledger::Submit does before logging: the SignedTx goes through its
// encoding, then DecodeSignedTx, VerifyTx and ApplyTx at block `block`
// (default: the block being built, state.height + 1).
inline absl::Status SubmitSigned(ChainState& state, const SignedTx& tx,
                                 std::optional<BlockHeight> block = std::nullopt) {
  absl::StatusOr<SignedTx> decoded = DecodeSignedTx(protocol::Encode(tx));
  if (!decoded.ok()) return decoded.status();
  absl::StatusOr<TxBody> body = VerifyTx(*decoded);
  if (!body.ok()) return body.status();
  return ApplyTx(state, *body, block.value_or(state.height + 1));
}

// Builds, signs (with the signer's next nonce unless `nonce` is given) and submits.
template <typename Payload>
absl::Status SubmitTx(ChainState& state, const SigningKey& signer, const char* type,
                      const Payload& payload, std::optional<uint64_t> nonce = std::nullopt) {
  const uint64_t n = nonce.value_or(NextNonce(state, signer.public_key()));
  return SubmitSigned(state, MakeTx(signer, state.chain_id, type, n, payload));
}

// Seals `count` blocks with no transactions, one second apart; fails the test on error.
inline void SealEmpty(ChainState& state, int count = 1) {
  for (int i = 0; i < count; ++i) {
    absl::StatusOr<BlockReport> r =
        SealBlock(state, 1'700'000'000'000 + (state.height + 1) * 1000, Hash256{});
    ASSERT_TRUE(r.ok()) << r.status();
  }
}

// TOML text of a genesis. Accounts and subnets are appended as raw TOML pieces.
class GenesisText {
 public:
  explicit GenesisText(std::string chain_id = "agora-test") {
    text_ = absl::StrCat("chain_id = \"", chain_id, "\"\nblock_interval_ms = 100\n");
  }
  GenesisText& Account(const SigningKey& key, Amount balance) {
    absl::StrAppend(&text_, "\n[[accounts]]\naddress = \"", Addr(key), "\"\nbalance = ", balance,
                    "\n");
    return *this;
  }
  // `params` are "key = value" lines for [subnets.params] (may be empty).
  GenesisText& Subnet(NetUid netuid, const SigningKey& owner, const SigningKey* owner_hotkey,
                      const std::string& params) {
    absl::StrAppend(&text_, "\n[[subnets]]\nnetuid = ", netuid, "\nname = \"sn", netuid,
                    "\"\nowner = \"", Addr(owner), "\"\n");
    if (owner_hotkey != nullptr) {
      absl::StrAppend(&text_, "owner_hotkey = \"", Addr(*owner_hotkey), "\"\n");
    }
    if (!params.empty()) absl::StrAppend(&text_, "[subnets.params]\n", params, "\n");
    return *this;
  }
  GenesisText& Raw(absl::string_view toml) {
    absl::StrAppend(&text_, toml);
    return *this;
  }
  const std::string& text() const { return text_; }

  // Parses the text; fails the calling test (fatally) if it does not parse.
  Genesis Parse() const {
    absl::StatusOr<Genesis> g = ParseGenesis(text_, "test-genesis.toml");
    EXPECT_TRUE(g.ok()) << g.status() << "\n" << text_;
    if (!g.ok()) std::abort();
    return std::move(*g);
  }

 private:
  std::string text_;
};

// The encoding of `state`: comparing it (not just the root) makes failures
// easy to diff, and equality of encodings is what the state root commits to.
inline std::string StateBytes(const ChainState& state) { return protocol::Encode(state); }

}  // namespace agora::chain::testing

#endif  // AGORA_TESTS_CHAIN_LEDGER_TEST_UTIL_H_
