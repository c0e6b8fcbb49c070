// Good paths of every transaction type of chain/apply.h, taken through the
// path Ledger::Submit takes (encode, DecodeSignedTx, VerifyTx, ApplyTx), with
// their rate limits, max-upscaling and commit-reveal timing.
#include <string>
#include <vector>

#include "chain/apply.h"
#include "gtest/gtest.h"
#include "tests/chain/ledger_apply_fixture.h"

namespace agora::chain {
namespace {

using testing::ApplyTest;
using testing::Balance;
using testing::GenesisText;
using testing::kCrNet;
using testing::kNet;
using testing::kToken;
using testing::NextNonce;
using testing::SealEmpty;
using testing::StakeOf;
using testing::StateBytes;
using testing::SubmitTx;
using testing::TestKey;

TEST_F(ApplyTest, TransferMovesFundsAndBumpsTheNonce) {
  const Amount a0 = Balance(state_, alice_.public_key());
  const Amount s0 = Balance(state_, stranger_.public_key());
  const uint64_t n0 = NextNonce(state_, alice_.public_key());
  ASSERT_TRUE(SubmitTx(state_, alice_, kTxTransfer, TransferTx{stranger_.public_key(), 7}).ok());
  EXPECT_EQ(Balance(state_, alice_.public_key()), a0 - 7);
  EXPECT_EQ(Balance(state_, stranger_.public_key()), s0 + 7);
  EXPECT_EQ(NextNonce(state_, alice_.public_key()), n0 + 1);
  // A new account can spend what it received; a self-transfer only uses a nonce.
  ASSERT_TRUE(SubmitTx(state_, stranger_, kTxTransfer, TransferTx{stranger_.public_key(), 7}).ok());
  EXPECT_EQ(Balance(state_, stranger_.public_key()), 7u);
  EXPECT_EQ(NextNonce(state_, stranger_.public_key()), 1u);
  ASSERT_TRUE(SubmitTx(state_, stranger_, kTxTransfer, TransferTx{alice_.public_key(), 7}).ok());
  EXPECT_EQ(Balance(state_, stranger_.public_key()), 0u);
  EXPECT_EQ(state_.total_issuance, CirculatingTotal(state_));
}

TEST_F(ApplyTest, RegisterByBurnAppendsAUidAndBurns) {
  const Amount issuance = state_.total_issuance;
  const Amount before = Balance(state_, carol_.public_key());
  const size_t n = state_.subnets.at(kNet).neurons.size();
  ASSERT_TRUE(Register(carol_, stranger_, kNet, kToken).ok());
  const SubnetState& sn = state_.subnets.at(kNet);
  ASSERT_EQ(sn.neurons.size(), n + 1);
  EXPECT_EQ(sn.neurons.back().hotkey, stranger_.public_key());
  EXPECT_EQ(sn.neurons.back().coldkey, carol_.public_key());
  EXPECT_EQ(sn.neurons.back().registered_at, 2u);
  EXPECT_EQ(sn.neurons.back().last_update, 2u);
  EXPECT_EQ(Balance(state_, carol_.public_key()), before - kToken);
  EXPECT_EQ(state_.total_issuance, issuance - kToken);
  EXPECT_EQ(state_.hotkey_owner.at(stranger_.public_key()), carol_.public_key());
  EXPECT_EQ(state_.total_issuance, CirculatingTotal(state_));
}

TEST_F(ApplyTest, RegisterByProofOfWorkBurnsNothing) {
  SealEmpty(state_, 3);  // block hashes 1..4 are recent
  const SubnetState& sn = state_.subnets.at(kNet);
  ASSERT_EQ(sn.params.pow_difficulty, 4u);
  const Amount issuance = state_.total_issuance;
  // The signing coldkey need not hold anything: the work pays.
  const SigningKey& coldkey = stranger_;
  const SigningKey hotkey = TestKey("pow-hot");
  const BlockHeight pow_block = 3;
  const Hash256 seed = state_.recent_blocks.at(pow_block);
  uint64_t nonce = 0;
  while (LeadingZeroBits(PowHash(kNet, hotkey.public_key(), coldkey.public_key(), seed, nonce)) <
         4) {
    ++nonce;
  }
  ASSERT_TRUE(SubmitTx(state_, coldkey, kTxRegister,
                       RegisterTx{kNet, hotkey.public_key(), true, 0, pow_block, nonce})
                  .ok());
  EXPECT_TRUE(FindUid(state_.subnets.at(kNet), hotkey.public_key()).has_value());
  EXPECT_EQ(state_.total_issuance, issuance);
  EXPECT_EQ(state_.hotkey_owner.at(hotkey.public_key()), coldkey.public_key());
  EXPECT_EQ(state_.total_issuance, CirculatingTotal(state_));
}

TEST_F(ApplyTest, PowExpiresAfterMaxAge) {
  const SigningKey hotkey = TestKey("pow-hot");
  const Hash256 seed = state_.recent_blocks.at(1);
  uint64_t nonce = 0;
  while (LeadingZeroBits(PowHash(kNet, hotkey.public_key(), alice_.public_key(), seed, nonce)) < 4) {
    ++nonce;
  }
  SealEmpty(state_, static_cast<int>(kPowMaxAge) - 1);  // block 65 = 1 + kPowMaxAge is being built
  ChainState copy = state_;
  EXPECT_TRUE(SubmitTx(copy, alice_, kTxRegister,
                       RegisterTx{kNet, hotkey.public_key(), true, 0, 1, nonce}).ok());
  SealEmpty(state_);
  EXPECT_EQ(TxRejectOf(SubmitTx(state_, alice_, kTxRegister,
                                RegisterTx{kNet, hotkey.public_key(), true, 0, 1, nonce})),
            TxReject::kBadPow);
}

TEST_F(ApplyTest, AddAndRemoveStake) {
  const PublicKey hot = bob_hot_.public_key(), bob = bob_.public_key();
  const Amount b0 = Balance(state_, bob);
  ASSERT_TRUE(SubmitTx(state_, bob_, kTxAddStake, StakeTx{hot, 40 * kToken}).ok());
  EXPECT_EQ(StakeOf(state_, hot, bob), 40 * kToken);
  EXPECT_EQ(Balance(state_, bob), b0 - 40 * kToken);
  EXPECT_EQ(HotkeyStake(state_, hot), 40 * kToken);
  // Anyone may stake on a registered hotkey.
  ASSERT_TRUE(SubmitTx(state_, alice_, kTxAddStake, StakeTx{hot, 2 * kToken}).ok());
  EXPECT_EQ(HotkeyStake(state_, hot), 42 * kToken);
  ASSERT_TRUE(SubmitTx(state_, bob_, kTxRemoveStake, StakeTx{hot, 15 * kToken}).ok());
  EXPECT_EQ(StakeOf(state_, hot, bob), 25 * kToken);
  ASSERT_TRUE(SubmitTx(state_, bob_, kTxRemoveStake, StakeTx{hot, 25 * kToken}).ok());
  EXPECT_EQ(state_.stake.count({hot, bob}), 0u) << "an emptied stake entry is erased";
  EXPECT_EQ(Balance(state_, bob), b0);
  EXPECT_EQ(state_.total_issuance, CirculatingTotal(state_));
}

TEST_F(ApplyTest, ServeAxonIsRateLimited) {
  ASSERT_TRUE(SubmitTx(state_, bob_hot_, kTxServeAxon, ServeAxonTx{kNet, "tcp://10.0.0.1:8091", 3}).ok());
  const AxonInfo& axon = NeuronOf(kNet, bob_hot_).axon;
  EXPECT_EQ(axon.endpoint, "tcp://10.0.0.1:8091");
  EXPECT_EQ(axon.version, 3u);
  EXPECT_EQ(axon.block, 2u);
  // serving_rate_limit = 4: blocks 3..5 refused, block 6 accepted.
  for (int i = 0; i < 3; ++i) {
    SealEmpty(state_);
    EXPECT_EQ(TxRejectOf(SubmitTx(state_, bob_hot_, kTxServeAxon,
                                  ServeAxonTx{kNet, "tcp://10.0.0.2:8091", 3})),
              TxReject::kRateLimited)
        << "block " << state_.height + 1;
  }
  SealEmpty(state_);
  ASSERT_TRUE(SubmitTx(state_, bob_hot_, kTxServeAxon, ServeAxonTx{kNet, "tcp://10.0.0.2:8091", 4}).ok());
  EXPECT_EQ(NeuronOf(kNet, bob_hot_).axon.endpoint, "tcp://10.0.0.2:8091");
  EXPECT_EQ(NeuronOf(kNet, bob_hot_).axon.block, 6u);
}

RegisterModelTx ModelTx(NetUid netuid, uint8_t hash_byte, uint64_t size = 123'456'789,
                        const char* format = kModelFormatAgoraGpt) {
  RegisterModelTx m;
  m.netuid = netuid;
  m.content_hash.fill(hash_byte);
  m.size_bytes = size;
  m.format = format;
  m.tokenizer_hash.fill(0x7e);
  return m;
}

TEST_F(ApplyTest, RegisterModelStoresItAndANewOneReplacesItAfterTheRateLimit) {
  EXPECT_EQ(NeuronOf(kNet, bob_hot_).model.block, 0u) << "no model until one is registered";
  ASSERT_TRUE(SubmitTx(state_, bob_hot_, kTxRegisterModel, ModelTx(kNet, 0x11)).ok());
  {
    const ModelRegistration& m = NeuronOf(kNet, bob_hot_).model;
    EXPECT_EQ(m.content_hash, ModelTx(kNet, 0x11).content_hash);
    EXPECT_EQ(m.size_bytes, 123'456'789u);
    EXPECT_EQ(m.format, "agora-gpt");
    EXPECT_EQ(m.tokenizer_hash, ModelTx(kNet, 0x11).tokenizer_hash);
    EXPECT_EQ(m.block, 2u);
  }
  // serving_rate_limit = 4: another model is refused in blocks 2..5, with the
  // block to retry at; the same model is refused as unchanged at any time.
  for (int i = 0; i < 4; ++i) {
    const absl::Status s = SubmitTx(state_, bob_hot_, kTxRegisterModel,
                                    ModelTx(kNet, 0x22, 9, kModelFormatTorchScript));
    EXPECT_EQ(TxRejectOf(s), TxReject::kRateLimited) << "block " << state_.height + 1;
    EXPECT_EQ(s.message(), "rate-limited: register_model again at block 6");
    EXPECT_EQ(RetryBlockOf(s), 6u) << s;
    SealEmpty(state_);
  }
  const absl::Status same = SubmitTx(state_, bob_hot_, kTxRegisterModel, ModelTx(kNet, 0x11));
  EXPECT_EQ(TxRejectOf(same), TxReject::kUnchanged) << same;
  EXPECT_EQ(same.message(), "unchanged: uid 2 registered this model in block 2");
  EXPECT_EQ(RetryBlockOf(same), std::nullopt);
  // Block 6: a new registration replaces the old one, every field.
  const uint64_t nonce = NextNonce(state_, bob_hot_.public_key());
  ASSERT_TRUE(SubmitTx(state_, bob_hot_, kTxRegisterModel,
                       ModelTx(kNet, 0x22, 9, kModelFormatTorchScript)).ok());
  EXPECT_EQ(NextNonce(state_, bob_hot_.public_key()), nonce + 1);
  const ModelRegistration& m = NeuronOf(kNet, bob_hot_).model;
  EXPECT_EQ(m.content_hash, ModelTx(kNet, 0x22).content_hash);
  EXPECT_EQ(m.size_bytes, 9u);
  EXPECT_EQ(m.format, "torchscript");
  EXPECT_EQ(m.block, 6u);
  // Changing only the size (or the tokenizer) is a new registration too.
  SealEmpty(state_, 4);
  RegisterModelTx tok = ModelTx(kNet, 0x22, 9, kModelFormatTorchScript);
  tok.tokenizer_hash.fill(0x01);
  ASSERT_TRUE(SubmitTx(state_, bob_hot_, kTxRegisterModel, tok).ok());
  EXPECT_EQ(NeuronOf(kNet, bob_hot_).model.tokenizer_hash, tok.tokenizer_hash);
  EXPECT_EQ(NeuronOf(kNet, bob_hot_).model.block, 10u);
  // The other uids are untouched.
  EXPECT_EQ(NeuronOf(kNet, alice_hot_).model.block, 0u);
  EXPECT_EQ(state_.total_issuance, CirculatingTotal(state_));
}

// The earlier registration owns a content hash on its subnet: another uid
// cannot claim it until its owner moves to another model (or loses its uid).
TEST_F(ApplyTest, RegisterModelRefusesAModelAnotherUidRegistered) {
  ASSERT_TRUE(SubmitTx(state_, bob_hot_, kTxRegisterModel, ModelTx(kNet, 0x11)).ok());
  const std::string before = StateBytes(state_);
  const absl::Status s = SubmitTx(state_, alice_hot_, kTxRegisterModel, ModelTx(kNet, 0x11, 1));
  EXPECT_EQ(TxRejectOf(s), TxReject::kModelTaken) << s;
  EXPECT_EQ(s.message(), "model-taken: uid 2 registered this model in block 2");
  EXPECT_EQ(RetryBlockOf(s), std::nullopt) << "no number of blocks frees it";
  EXPECT_EQ(StateBytes(state_), before);
  // The same model on another subnet is another registration.
  ASSERT_TRUE(SubmitTx(state_, alice_hot_, kTxRegisterModel, ModelTx(kCrNet, 0x11)).ok());
  EXPECT_EQ(NeuronOf(kCrNet, alice_hot_).model.block, 2u);
  // Once bob registers another model, the hash is free.
  SealEmpty(state_, 4);
  ASSERT_TRUE(SubmitTx(state_, bob_hot_, kTxRegisterModel, ModelTx(kNet, 0x33)).ok());
  ASSERT_TRUE(SubmitTx(state_, alice_hot_, kTxRegisterModel, ModelTx(kNet, 0x11)).ok());
  EXPECT_EQ(NeuronOf(kNet, alice_hot_).model.content_hash, ModelTx(kNet, 0x11).content_hash);
}

TEST_F(ApplyTest, RegisterModelRefusalTexts) {
  auto refusal = [&](const SigningKey& hot, const RegisterModelTx& m) {
    return std::string(SubmitTx(state_, hot, kTxRegisterModel, m).message());
  };
  EXPECT_EQ(refusal(alice_hot_, ModelTx(99, 0x11)), "unknown-subnet: netuid 99");
  EXPECT_EQ(refusal(stranger_, ModelTx(kNet, 0x11)),
            "unregistered-hotkey: hotkey not registered on netuid 1");
  EXPECT_EQ(refusal(alice_hot_, ModelTx(kNet, 0x11, 1, "onnx")),
            "bad-model: register_model.format must be agora-gpt or torchscript");
  EXPECT_EQ(refusal(alice_hot_, ModelTx(kNet, 0x00)),
            "bad-model: register_model.content_hash is all zero");
  EXPECT_EQ(refusal(alice_hot_, ModelTx(kNet, 0x11, 0)),
            "bad-model: register_model.size_bytes: 0 (must be 1..68719476736)");
  EXPECT_EQ(refusal(alice_hot_, ModelTx(kNet, 0x11, kMaxModelBytes + 1)),
            "bad-model: register_model.size_bytes: 68719476737 (must be 1..68719476736)");
  // The largest size is allowed; checks on the fields come before the rate limit.
  EXPECT_TRUE(
      SubmitTx(state_, alice_hot_, kTxRegisterModel, ModelTx(kNet, 0x11, kMaxModelBytes)).ok());
  EXPECT_EQ(TxRejectOf(SubmitTx(state_, alice_hot_, kTxRegisterModel,
                                ModelTx(kNet, 0x11, 1, "onnx"))),
            TxReject::kBadModel);
}

TEST_F(ApplyTest, SetWeightsStoresMaxUpscaledRowsIncludingZeros) {
  // The owner's hotkey may set weights without a permit (yuma.md §7).
  ASSERT_TRUE(SetWeights(owner_hot_, kNet, {2, 1, 0}, {100, 50, 0}).ok());
  const Neuron& n = NeuronOf(kNet, owner_hot_);
  EXPECT_EQ(n.weights, (SparseRow{{2, 65535}, {1, 32768}, {0, 0}}));
  EXPECT_EQ(n.last_update, 2u);
  EXPECT_EQ(n.last_weights_block, 2u);
  // A single self-weight is always allowed, even below min_allowed_weights and without a permit.
  ASSERT_TRUE(SetWeights(bob_hot_, kNet, {2}, {9}).ok());
  EXPECT_EQ(NeuronOf(kNet, bob_hot_).weights, (SparseRow{{2, 65535}}));
}

TEST_F(ApplyTest, SetWeightsRateLimit) {
  ASSERT_TRUE(SetWeights(owner_hot_, kNet, {1, 2}, {1, 1}).ok());  // block 2
  // weights_set_rate_limit = 3: blocks 3 and 4 refused, block 5 accepted.
  for (int i = 0; i < 2; ++i) {
    SealEmpty(state_);
    EXPECT_EQ(TxRejectOf(SetWeights(owner_hot_, kNet, {1, 2}, {1, 2})), TxReject::kRateLimited);
  }
  SealEmpty(state_);
  ASSERT_TRUE(SetWeights(owner_hot_, kNet, {1, 2}, {1, 2}).ok());
  EXPECT_EQ(NeuronOf(kNet, owner_hot_).weights, (SparseRow{{1, 32768}, {2, 65535}}));
}

TEST_F(ApplyTest, ValidatorPermitComesFromTheEpoch) {
  // Alice's hotkey has stake; the first epoch (block 5) gives it a permit.
  EXPECT_EQ(TxRejectOf(SetWeights(alice_hot_, kNet, {0, 2}, {1, 1})), TxReject::kNoValidatorPermit);
  SealEmpty(state_, 4);
  ASSERT_EQ(state_.subnets.at(kNet).epoch_index, 1u);
  EXPECT_TRUE(NeuronOf(kNet, alice_hot_).validator_permit);
  EXPECT_FALSE(NeuronOf(kNet, bob_hot_).validator_permit);
  ASSERT_TRUE(SetWeights(alice_hot_, kNet, {0, 2}, {1, 1}).ok());
}

// yuma.md §7: m = max; if m > 32768 store round(v·(65535/m)) with the ratio
// in I32F32 (truncated to 32 fractional bits), else round(v·65535/m); ties
// away from zero.
TEST(MaxUpscaleTest, FollowsTheChainsTwoBranches) {
  EXPECT_EQ(MaxUpscale({}), (std::vector<uint16_t>{}));
  EXPECT_EQ(MaxUpscale({0, 0}), (std::vector<uint16_t>{0, 0}));
  EXPECT_EQ(MaxUpscale({65535, 1, 0}), (std::vector<uint16_t>{65535, 1, 0}));
  // m <= 32768: exact, 1·65535/2 = 32767.5 rounds up.
  EXPECT_EQ(MaxUpscale({1, 2}), (std::vector<uint16_t>{32768, 65535}));
  EXPECT_EQ(MaxUpscale({1, 3}), (std::vector<uint16_t>{21845, 65535}));
  EXPECT_EQ(MaxUpscale({32768, 1}), (std::vector<uint16_t>{65535, 2}));
  // m > 32768: the ratio 65535/65534 truncated to I32F32 is 1 + 65538/2^32, so
  // 32767 times it is 32767.49999999953, which rounds down, where the exact
  // 32767·65535/65534 = 32767.5 would round up.
  EXPECT_EQ(MaxUpscale({32767, 65534}), (std::vector<uint16_t>{32767, 65535}));
  // 65535/43690 = 1.5 exactly: 1·1.5 rounds up to 2.
  EXPECT_EQ(MaxUpscale({1, 43690}), (std::vector<uint16_t>{2, 65535}));
  EXPECT_EQ(MaxUpscale({40000, 50000}), (std::vector<uint16_t>{52428, 65535}));
}

TEST_F(ApplyTest, CommitRevealGoodPathAndTooEarly) {
  const std::vector<uint16_t> uids{0}, w{1};
  const Hash256 h = WeightsCommitHash(alice_hot_.public_key(), kCrNet, uids, w, "salt-1", 0);
  ASSERT_TRUE(SubmitTx(state_, alice_hot_, kTxCommitWeights, CommitWeightsTx{kCrNet, h}).ok());
  {
    const Neuron& n = NeuronOf(kCrNet, alice_hot_);
    ASSERT_EQ(n.commits.size(), 1u);
    EXPECT_EQ(n.commits[0].epoch, 0u);
    EXPECT_EQ(n.commits[0].block, 2u);
    EXPECT_EQ(n.last_update, 2u);  // the commit sets last_update under commit-reveal
  }
  const RevealWeightsTx reveal{kCrNet, uids, w, "salt-1", 0};
  EXPECT_EQ(TxRejectOf(SubmitTx(state_, alice_hot_, kTxRevealWeights, reveal)),
            TxReject::kRevealTooEarly);
  SealEmpty(state_, 2);  // block 3: the subnet's epoch (tempo 3)
  ASSERT_EQ(state_.subnets.at(kCrNet).epoch_index, 1u);
  RevealWeightsTx wrong = reveal;
  wrong.salt = "salt-2";
  EXPECT_EQ(TxRejectOf(SubmitTx(state_, alice_hot_, kTxRevealWeights, wrong)),
            TxReject::kCommitMismatch);
  wrong = reveal;
  wrong.weights = {2};
  EXPECT_EQ(TxRejectOf(SubmitTx(state_, alice_hot_, kTxRevealWeights, wrong)),
            TxReject::kCommitMismatch);
  ASSERT_TRUE(SubmitTx(state_, alice_hot_, kTxRevealWeights, reveal).ok());
  const Neuron& n = NeuronOf(kCrNet, alice_hot_);
  EXPECT_TRUE(n.commits.empty());
  EXPECT_EQ(n.weights, (SparseRow{{0, 65535}}));
  EXPECT_EQ(n.last_update, 4u);
  EXPECT_EQ(TxRejectOf(SubmitTx(state_, alice_hot_, kTxRevealWeights, reveal)),
            TxReject::kNoCommit);
}

TEST_F(ApplyTest, CommitExpiresAfterTheRevealPeriod) {
  const Hash256 h = WeightsCommitHash(alice_hot_.public_key(), kCrNet, {0}, {1}, "s", 0);
  ASSERT_TRUE(SubmitTx(state_, alice_hot_, kTxCommitWeights, CommitWeightsTx{kCrNet, h}).ok());
  SealEmpty(state_, 2);  // epoch 1 ran at block 3: revealable now
  ASSERT_EQ(state_.subnets.at(kCrNet).epoch_index, 1u);
  EXPECT_EQ(NeuronOf(kCrNet, alice_hot_).commits.size(), 1u);
  {
    ChainState copy = state_;
    EXPECT_TRUE(SubmitTx(copy, alice_hot_, kTxRevealWeights,
                         RevealWeightsTx{kCrNet, {0}, {1}, "s", 0}).ok());
  }
  SealEmpty(state_, 3);  // epoch 2 ran at block 6: 2 > 0 + reveal_period_epochs
  ASSERT_EQ(state_.subnets.at(kCrNet).epoch_index, 2u);
  EXPECT_TRUE(NeuronOf(kCrNet, alice_hot_).commits.empty());
  EXPECT_EQ(TxRejectOf(SubmitTx(state_, alice_hot_, kTxRevealWeights,
                                RevealWeightsTx{kCrNet, {0}, {1}, "s", 0})),
            TxReject::kNoCommit);
}

TEST_F(ApplyTest, PendingCommitsAreBounded) {
  for (int i = 0; i < 10; ++i) {
    Hash256 h{};
    h[0] = static_cast<uint8_t>(i);
    ASSERT_TRUE(SubmitTx(state_, alice_hot_, kTxCommitWeights, CommitWeightsTx{kCrNet, h}).ok());
  }
  const std::string before = StateBytes(state_);
  EXPECT_EQ(TxRejectOf(SubmitTx(state_, alice_hot_, kTxCommitWeights,
                                CommitWeightsTx{kCrNet, Hash256{}})),
            TxReject::kRateLimited);
  // Pending commits leave only by reveals or expiry, not with the next block.
  EXPECT_EQ(RetryBlockOf(SubmitTx(state_, alice_hot_, kTxCommitWeights,
                                  CommitWeightsTx{kCrNet, Hash256{}})),
            std::nullopt);
  EXPECT_EQ(StateBytes(state_), before);
}

// The genesis owner hotkey belongs to the owner coldkey: nobody else can
// register it (and collect what the owner's uid earns).
TEST_F(ApplyTest, OwnerHotkeyCannotBeTakenByAnotherColdkey) {
  GenesisText g;
  g.Account(owner_, 100 * kToken).Account(bob_, 100 * kToken).Subnet(kNet, owner_, &owner_hot_, "");
  ChainState state = g.Parse().state;
  RegisterTx r{kNet, owner_hot_.public_key(), false, 100 * kToken, 0, 0};
  EXPECT_EQ(TxRejectOf(SubmitTx(state, bob_, kTxRegister, r)), TxReject::kNotOwner);
  EXPECT_TRUE(SubmitTx(state, owner_, kTxRegister, r).ok());
}

}  // namespace
}  // namespace agora::chain
