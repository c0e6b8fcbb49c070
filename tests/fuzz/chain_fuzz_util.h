// Shared by the chain fuzz targets (tests/fuzz/{signed_tx,tx_payloads,genesis,
// chain_state}_fuzz.cc) and the seed generator (tests/fuzz/tools/chain_corpus.cc):
// fixed keys and a small, fixed ledger state the transactions apply to.
//
// The seeds in tests/fuzz/corpus/signed_tx/ are signed by these keys, so a
// change to the key names or the genesis below means regenerating them:
//   ninja chain_fuzz_corpus && bin/chain_fuzz_corpus tests/fuzz/corpus
#ifndef AGORA_TESTS_FUZZ_CHAIN_FUZZ_UTIL_H_
#define AGORA_TESTS_FUZZ_CHAIN_FUZZ_UTIL_H_

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "chain/apply.h"
#include "chain/block.h"
#include "chain/genesis.h"
#include "chain/state.h"
#include "chain/tx.h"
#include "common/address.h"
#include "common/crypto.h"

namespace agora::chain::fuzz {

inline const char kChainId[] = "agora-fuzz";

// The key named `name` (same in every run).
inline SigningKey Key(absl::string_view name) {
  absl::StatusOr<SigningKey> key =
      SigningKey::FromSeed(Blake2b256(absl::StrCat("agora-chain-fuzz:", name)));
  if (!key.ok()) std::abort();
  return std::move(*key);
}

// cold-0..2 hold funds; hot-0 and hot-1 (of cold-0 and cold-1) are registered
// on subnet 1 (set_weights) and subnet 2 (commit-reveal).
inline std::string GenesisText() {
  std::string text = absl::StrCat("chain_id = \"", kChainId, "\"\nblock_interval_ms = 100\n");
  for (int i = 0; i < 3; ++i) {
    absl::StrAppend(&text, "[[accounts]]\naddress = \"", EncodeAddress(Key(absl::StrCat("cold-", i)).public_key()),
                    "\"\nbalance = 1000000000000\n");
  }
  const std::string owner = EncodeAddress(Key("cold-0").public_key());
  absl::StrAppend(&text, "[[subnets]]\nnetuid = 1\nname = \"one\"\nowner = \"", owner,
                  "\"\nowner_hotkey = \"", EncodeAddress(Key("hot-0").public_key()),
                  "\"\n[subnets.params]\ntempo = 2\npow_difficulty = 1\nmin_pow_difficulty = 0\n"
                  "min_allowed_weights = 1\nweights_set_rate_limit = 0\nserving_rate_limit = 0\n"
                  "max_allowed_uids = 4\nimmunity_period = 0\n",
                  "[[subnets]]\nnetuid = 2\nname = \"two\"\nowner = \"", owner,
                  "\"\n[subnets.params]\ntempo = 1\ncommit_reveal = true\n");
  return text;
}

// The state every fuzzed transaction is applied to (built once).
inline const ChainState& State() {
  static const ChainState* state = [] {
    absl::StatusOr<Genesis> g = ParseGenesis(GenesisText(), "fuzz");
    if (!g.ok()) std::abort();
    auto* s = new ChainState(std::move(g->state));
    auto apply = [&](const SigningKey& signer, const char* type, const auto& payload) {
      auto it = s->accounts.find(signer.public_key());
      const uint64_t nonce = it == s->accounts.end() ? 0 : it->second.nonce;
      absl::StatusOr<TxBody> body = VerifyTx(MakeTx(signer, kChainId, type, nonce, payload));
      if (!body.ok() || !ApplyTx(*s, *body, s->height + 1).ok()) std::abort();
    };
    for (int i = 0; i < 2; ++i) {
      const SigningKey cold = Key(absl::StrCat("cold-", i)), hot = Key(absl::StrCat("hot-", i));
      for (NetUid netuid : {NetUid{1}, NetUid{2}}) {
        apply(cold, kTxRegister, RegisterTx{netuid, hot.public_key(), false, kMaxAmount, 0, 0});
      }
      apply(cold, kTxAddStake, StakeTx{hot.public_key(), 1000});
    }
    if (!SealBlock(*s, 1000, Hash256{}).ok() || !SealBlock(*s, 2000, Hash256{}).ok()) std::abort();
    return s;
  }();
  return *state;
}

}  // namespace agora::chain::fuzz

#endif  // AGORA_TESTS_FUZZ_CHAIN_FUZZ_UTIL_H_
