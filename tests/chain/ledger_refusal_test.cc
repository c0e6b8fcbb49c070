// Every refusal of chain/apply.h (and of DecodeSignedTx / VerifyTx before
// it), taken through the path Ledger::Submit takes: the status names the
// reason (TxRejectOf) and the state is left byte-identical.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "chain/apply.h"
#include "gtest/gtest.h"
#include "tests/chain/ledger_apply_fixture.h"

namespace agora::chain {
namespace {

using testing::ApplyTest;
using testing::Balance;
using testing::kCrNet;
using testing::kNet;
using testing::kToken;
using testing::NextNonce;
using testing::StateBytes;
using testing::SubmitSigned;
using testing::SubmitTx;
using testing::TestKey;

// One refusal case: `prepare` may apply good transactions first (to create a
// rate limit, say); then `bad` builds the refused transaction from the state.
struct RefusalCase {
  std::string name;
  TxReject reason;
  std::function<void()> prepare;  // runs on the fixture's state_
  std::function<SignedTx(const ChainState&)> bad;
};

TEST_F(ApplyTest, EveryRefusalNamesItsReasonAndChangesNothing) {
  const std::string id = state_.chain_id;
  const PublicKey alice = alice_.public_key(), bob = bob_.public_key();
  auto nonce = [](const ChainState& s, const SigningKey& k) { return NextNonce(s, k.public_key()); };
  auto weights = [&](const SigningKey& hot, NetUid netuid, std::vector<uint16_t> uids,
                     std::vector<uint16_t> w, uint64_t version = 7) {
    return [&hot, netuid, uids, w, version, id, nonce](const ChainState& s) {
      return MakeTx(hot, id, kTxSetWeights, nonce(s, hot), SetWeightsTx{netuid, uids, w, version});
    };
  };
  // A register_model of the model whose content hash is 32 bytes `b`.
  auto model_tx = [](NetUid netuid, uint8_t b, uint64_t size = 1000,
                     std::string format = kModelFormatAgoraGpt) {
    RegisterModelTx m;
    m.netuid = netuid;
    m.content_hash.fill(b);
    m.size_bytes = size;
    m.format = std::move(format);
    m.tokenizer_hash.fill(0x7e);
    return m;
  };
  auto model = [&](const SigningKey& hot, NetUid netuid, uint8_t b, uint64_t size = 1000,
                   std::string format = kModelFormatAgoraGpt) {
    const RegisterModelTx m = model_tx(netuid, b, size, std::move(format));
    return [&hot, m, id, nonce](const ChainState& s) {
      return MakeTx(hot, id, kTxRegisterModel, nonce(s, hot), m);
    };
  };
  auto register_model = [&](const SigningKey& hot, uint8_t b) {
    ASSERT_TRUE(SubmitTx(state_, hot, kTxRegisterModel, model_tx(kNet, b)).ok());
  };
  auto no_prep = [] {};
  SignedTx applied;  // a transaction that was accepted, to replay
  const std::vector<RefusalCase> cases = {
      // The refusals the chain issue lists.
      {"bad signature", TxReject::kBadSignature, no_prep,
       [&](const ChainState& s) {
         SignedTx tx = MakeTx(alice_, id, kTxTransfer, nonce(s, alice_), TransferTx{bob, 1});
         tx.signature[7] ^= 0x10;
         return tx;
       }},
      {"signature by another key", TxReject::kBadSignature, no_prep,
       [&](const ChainState& s) {
         // Body claims alice as signer but bob signed it.
         SignedTx tx = MakeTx(alice_, id, kTxTransfer, nonce(s, alice_), TransferTx{bob, 1});
         tx.signature = bob_.Sign(TxSigningInput(tx.body));
         return tx;
       }},
      {"replayed nonce", TxReject::kBadNonce,
       [&] {
         applied = MakeTx(alice_, id, kTxTransfer, NextNonce(state_, alice), TransferTx{bob, 3});
         ASSERT_TRUE(SubmitSigned(state_, applied).ok());
       },
       [&](const ChainState&) { return applied; }},
      {"nonce from the future", TxReject::kBadNonce, no_prep,
       [&](const ChainState& s) {
         return MakeTx(alice_, id, kTxTransfer, nonce(s, alice_) + 1, TransferTx{bob, 1});
       }},
      {"wrong subnet (set_weights)", TxReject::kUnknownSubnet, no_prep,
       weights(owner_hot_, 99, {0, 1}, {1, 1})},
      {"wrong subnet (register)", TxReject::kUnknownSubnet, no_prep,
       [&](const ChainState& s) {
         return MakeTx(alice_, id, kTxRegister, nonce(s, alice_),
                       RegisterTx{99, stranger_.public_key(), false, kToken, 0, 0});
       }},
      {"wrong subnet (serve_axon)", TxReject::kUnknownSubnet, no_prep,
       [&](const ChainState& s) {
         return MakeTx(alice_hot_, id, kTxServeAxon, nonce(s, alice_hot_),
                       ServeAxonTx{99, "tcp://127.0.0.1:9000", 1});
       }},
      {"unregistered hotkey (set_weights)", TxReject::kUnregisteredHotkey, no_prep,
       weights(stranger_, kNet, {0, 1}, {1, 1})},
      {"hotkey not on that subnet (set_weights)", TxReject::kUnregisteredHotkey, no_prep,
       weights(bob_hot_, kCrNet, {0}, {1})},
      {"unregistered hotkey (add_stake)", TxReject::kUnregisteredHotkey, no_prep,
       [&](const ChainState& s) {
         return MakeTx(alice_, id, kTxAddStake, nonce(s, alice_),
                       StakeTx{stranger_.public_key(), kToken});
       }},
      {"unregistered hotkey (serve_axon)", TxReject::kUnregisteredHotkey, no_prep,
       [&](const ChainState& s) {
         return MakeTx(stranger_, id, kTxServeAxon, 0, ServeAxonTx{kNet, "tcp://1.2.3.4:5", 1});
       }},
      {"weights with duplicate uids", TxReject::kBadWeights, no_prep,
       weights(owner_hot_, kNet, {1, 2, 1}, {1, 2, 3})},
      {"weights with an out-of-range uid", TxReject::kBadWeights, no_prep,
       weights(owner_hot_, kNet, {1, 3}, {1, 1})},
      {"weights length mismatch", TxReject::kBadWeights, no_prep,
       weights(owner_hot_, kNet, {1, 2}, {1})},
      {"too few weights", TxReject::kBadWeights, no_prep, weights(owner_hot_, kNet, {1}, {5})},
      {"weights too frequent", TxReject::kRateLimited,
       [&] { ASSERT_TRUE(SetWeights(owner_hot_, kNet, {1, 2}, {1, 1}).ok()); },
       weights(owner_hot_, kNet, {1, 2}, {2, 1})},
      {"stake larger than the balance", TxReject::kInsufficientBalance, no_prep,
       [&](const ChainState& s) {
         return MakeTx(carol_, id, kTxAddStake, nonce(s, carol_),
                       StakeTx{alice_hot_.public_key(), Balance(s, carol_.public_key()) + 1});
       }},
      {"u64 overflow (amount 2^64-1)", TxReject::kAmountInvalid, no_prep,
       [&](const ChainState& s) {
         return MakeTx(alice_, id, kTxTransfer, nonce(s, alice_), TransferTx{bob, UINT64_MAX});
       }},
      {"u64 overflow (stake 2^64-1)", TxReject::kAmountInvalid, no_prep,
       [&](const ChainState& s) {
         return MakeTx(alice_, id, kTxAddStake, nonce(s, alice_),
                       StakeTx{alice_hot_.public_key(), UINT64_MAX});
       }},
      {"u64 overflow (recipient past the supply limit)", TxReject::kOverflow,
       // Unreachable from a valid genesis (the supply is capped): the check is
       // defense in depth, so the state is bent here to reach it.
       [&] { state_.accounts[bob].balance = kMaxAmount; },
       [&](const ChainState& s) {
         return MakeTx(alice_, id, kTxTransfer, nonce(s, alice_), TransferTx{bob, 1});
       }},
      {"u64 overflow (stake past the supply limit)", TxReject::kOverflow,
       [&] { state_.stake[{alice_hot_.public_key(), alice}] = kMaxAmount; },
       [&](const ChainState& s) {
         return MakeTx(alice_, id, kTxAddStake, nonce(s, alice_),
                       StakeTx{alice_hot_.public_key(), 1});
       }},
      {"u64 overflow (unstake past the supply limit)", TxReject::kOverflow,
       [&] { state_.accounts[alice].balance = kMaxAmount; },
       [&](const ChainState& s) {
         return MakeTx(alice_, id, kTxRemoveStake, nonce(s, alice_),
                       StakeTx{alice_hot_.public_key(), 1});
       }},
      // The other reasons.
      {"wrong chain id", TxReject::kBadTx, no_prep,
       [&](const ChainState& s) {
         return MakeTx(alice_, "other-chain", kTxTransfer, nonce(s, alice_), TransferTx{bob, 1});
       }},
      {"unknown type", TxReject::kBadTx, no_prep,
       [&](const ChainState& s) {
         return MakeTx(alice_, id, "mint", nonce(s, alice_), TransferTx{alice, kToken});
       }},
      {"payload of another type", TxReject::kBadTx, no_prep,
       [&](const ChainState& s) {
         return MakeTx(alice_, id, kTxTransfer, nonce(s, alice_),
                       StakeTx{alice_hot_.public_key(), 1});
       }},
      {"body that is not a TxBody", TxReject::kBadTx, no_prep,
       [&](const ChainState&) {
         SignedTx tx;
         tx.body = protocol::Encode(TransferTx{bob, 1});
         tx.signature = alice_.Sign(TxSigningInput(tx.body));
         return tx;
       }},
      {"zero amount", TxReject::kAmountInvalid, no_prep,
       [&](const ChainState& s) {
         return MakeTx(alice_, id, kTxTransfer, nonce(s, alice_), TransferTx{bob, 0});
       }},
      {"transfer above the balance", TxReject::kInsufficientBalance, no_prep,
       [&](const ChainState& s) {
         return MakeTx(carol_, id, kTxTransfer, nonce(s, carol_),
                       TransferTx{bob, Balance(s, carol_.public_key()) + 1});
       }},
      {"transfer from an account that does not exist", TxReject::kInsufficientBalance, no_prep,
       [&](const ChainState&) {
         return MakeTx(stranger_, id, kTxTransfer, 0, TransferTx{bob, 1});
       }},
      {"unstake more than staked", TxReject::kInsufficientStake, no_prep,
       [&](const ChainState& s) {
         return MakeTx(alice_, id, kTxRemoveStake, nonce(s, alice_),
                       StakeTx{alice_hot_.public_key(), 100 * kToken + 1});
       }},
      {"register another coldkey's hotkey", TxReject::kNotOwner, no_prep,
       [&](const ChainState& s) {
         return MakeTx(bob_, id, kTxRegister, nonce(s, bob_),
                       RegisterTx{kCrNet, owner_hot_.public_key(), false, kToken, 0, 0});
       }},
      {"register twice", TxReject::kAlreadyRegistered, no_prep,
       [&](const ChainState& s) {
         return MakeTx(alice_, id, kTxRegister, nonce(s, alice_),
                       RegisterTx{kNet, alice_hot_.public_key(), false, kToken, 0, 0});
       }},
      {"burn above max_burn", TxReject::kBurnTooHigh, no_prep,
       [&](const ChainState& s) {
         return MakeTx(alice_, id, kTxRegister, nonce(s, alice_),
                       RegisterTx{kNet, stranger_.public_key(), false, kToken - 1, 0, 0});
       }},
      {"burn above the balance", TxReject::kInsufficientBalance,
       [&] {
         // Carol keeps half a token.
         const Amount b = Balance(state_, carol_.public_key());
         ASSERT_TRUE(SubmitTx(state_, carol_, kTxTransfer, TransferTx{bob, b - kToken / 2}).ok());
       },
       [&](const ChainState& s) {
         return MakeTx(carol_, id, kTxRegister, nonce(s, carol_),
                       RegisterTx{kNet, stranger_.public_key(), false, kToken, 0, 0});
       }},
      {"registration limit per block", TxReject::kRegistrationLimit,
       [&] {
         for (const char* name : {"r1", "r2", "r3"}) {
           ASSERT_TRUE(Register(alice_, TestKey(name), kNet).ok()) << name;
         }
       },
       [&](const ChainState& s) {
         return MakeTx(alice_, id, kTxRegister, nonce(s, alice_),
                       RegisterTx{kNet, stranger_.public_key(), false, kToken, 0, 0});
       }},
      {"pow on a block that is not recent", TxReject::kBadPow, no_prep,
       [&](const ChainState& s) {
         return MakeTx(alice_, id, kTxRegister, nonce(s, alice_),
                       RegisterTx{kNet, stranger_.public_key(), true, 0, 77, 0});
       }},
      {"pow below the difficulty", TxReject::kBadPow, no_prep,
       [&](const ChainState& s) {
         // The first nonce whose hash has fewer leading zero bits than required.
         const Hash256 seed = s.recent_blocks.at(1);
         uint64_t n = 0;
         while (LeadingZeroBits(PowHash(kNet, stranger_.public_key(), alice, seed, n)) >= 4) ++n;
         return MakeTx(alice_, id, kTxRegister, nonce(s, alice_),
                       RegisterTx{kNet, stranger_.public_key(), true, 0, 1, n});
       }},
      {"weights without a validator permit", TxReject::kNoValidatorPermit, no_prep,
       weights(bob_hot_, kNet, {0, 1}, {1, 1})},
      {"weights version below the subnet's", TxReject::kVersionMismatch, no_prep,
       weights(owner_hot_, kNet, {1, 2}, {1, 1}, 6)},
      {"weight share above max_weight_limit", TxReject::kBadWeights,
       [&] { state_.subnets.at(kNet).params.max_weight_limit = 40000; },
       weights(owner_hot_, kNet, {1, 2}, {2, 1})},
      {"set_weights on a commit-reveal subnet", TxReject::kCommitRevealRequired, no_prep,
       weights(alice_hot_, kCrNet, {0}, {1})},
      {"commit on a subnet without commit-reveal", TxReject::kCommitRevealDisabled, no_prep,
       [&](const ChainState& s) {
         return MakeTx(alice_hot_, id, kTxCommitWeights, nonce(s, alice_hot_),
                       CommitWeightsTx{kNet, Hash256{}});
       }},
      {"reveal on a subnet without commit-reveal", TxReject::kCommitRevealDisabled, no_prep,
       [&](const ChainState& s) {
         return MakeTx(alice_hot_, id, kTxRevealWeights, nonce(s, alice_hot_),
                       RevealWeightsTx{kNet, {1}, {1}, "salt", 7});
       }},
      {"reveal without a commit", TxReject::kNoCommit, no_prep,
       [&](const ChainState& s) {
         return MakeTx(alice_hot_, id, kTxRevealWeights, nonce(s, alice_hot_),
                       RevealWeightsTx{kCrNet, {0}, {1}, "salt", 0});
       }},
      {"serve_axon with a bad endpoint", TxReject::kBadEndpoint, no_prep,
       [&](const ChainState& s) {
         return MakeTx(alice_hot_, id, kTxServeAxon, nonce(s, alice_hot_),
                       ServeAxonTx{kNet, "http://127.0.0.1:80", 1});
       }},
      {"serve_axon without a port", TxReject::kBadEndpoint, no_prep,
       [&](const ChainState& s) {
         return MakeTx(alice_hot_, id, kTxServeAxon, nonce(s, alice_hot_),
                       ServeAxonTx{kNet, "tcp://127.0.0.1:0", 1});
       }},
      {"serve_axon too frequent", TxReject::kRateLimited,
       [&] {
         ASSERT_TRUE(SubmitTx(state_, alice_hot_, kTxServeAxon, ServeAxonTx{kNet, "tcp://h:1", 1}).ok());
       },
       [&](const ChainState& s) {
         return MakeTx(alice_hot_, id, kTxServeAxon, nonce(s, alice_hot_),
                       ServeAxonTx{kNet, "tcp://h:2", 1});
       }},
      {"wrong subnet (register_model)", TxReject::kUnknownSubnet, no_prep,
       model(alice_hot_, 99, 0x11)},
      {"unregistered hotkey (register_model)", TxReject::kUnregisteredHotkey, no_prep,
       model(stranger_, kNet, 0x11)},
      {"hotkey not on that subnet (register_model)", TxReject::kUnregisteredHotkey, no_prep,
       model(bob_hot_, kCrNet, 0x11)},
      {"register_model with an unknown format", TxReject::kBadModel, no_prep,
       model(alice_hot_, kNet, 0x11, 1000, "onnx")},
      {"register_model with an empty format", TxReject::kBadModel, no_prep,
       model(alice_hot_, kNet, 0x11, 1000, "")},
      {"register_model with an all-zero content hash", TxReject::kBadModel, no_prep,
       model(alice_hot_, kNet, 0x00)},
      {"register_model of size 0", TxReject::kBadModel, no_prep,
       model(alice_hot_, kNet, 0x11, 0)},
      {"register_model above kMaxModelBytes", TxReject::kBadModel, no_prep,
       model(alice_hot_, kNet, 0x11, kMaxModelBytes + 1)},
      {"register_model of a model another uid registered", TxReject::kModelTaken,
       [&] { register_model(bob_hot_, 0x11); }, model(alice_hot_, kNet, 0x11)},
      {"register_model of the model already registered", TxReject::kUnchanged,
       [&] { register_model(alice_hot_, 0x11); }, model(alice_hot_, kNet, 0x11)},
      {"register_model too frequent", TxReject::kRateLimited,
       [&] { register_model(alice_hot_, 0x11); }, model(alice_hot_, kNet, 0x22)},
  };
  const ChainState base = state_;
  for (const RefusalCase& c : cases) {
    SCOPED_TRACE(c.name);
    state_ = base;
    c.prepare();
    if (::testing::Test::HasFatalFailure()) return;
    const ChainState& state = state_;
    const std::string before = StateBytes(state);
    const Hash256 root = StateRoot(state);
    const absl::Status s = SubmitSigned(state_, c.bad(state));
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(TxRejectOf(s), c.reason) << s;
    EXPECT_TRUE(absl::StartsWith(s.message(), TxRejectString(c.reason))) << s;
    EXPECT_EQ(StateRoot(state), root);
    EXPECT_EQ(StateBytes(state), before);
    // Only limits that pass with the blocks say when the same tx can land
    // (what `agora register` and the miner wait for), and they say it right.
    const BlockHeight pending = state.height + 1;
    const SubnetParams& params = state.subnets.at(kNet).params;
    std::optional<uint64_t> retry;
    if (c.name == "registration limit per block") retry = pending + 1;
    if (c.name == "weights too frequent") retry = pending + params.weights_set_rate_limit;
    if (c.name == "serve_axon too frequent") retry = pending + params.serving_rate_limit;
    if (c.name == "register_model too frequent") retry = pending + params.serving_rate_limit;
    EXPECT_EQ(RetryBlockOf(s), retry) << s;
    // The same after the refusal crossed the wire as text.
    EXPECT_EQ(RetryBlockOf(RestoreTxReject(absl::FailedPreconditionError(
                  absl::StrCat("bad-request: ", s.message())))),
              retry)
        << s;
  }
}

}  // namespace
}  // namespace agora::chain
