// Writes the seed corpora of the chain fuzz targets: real, valid inputs built
// with the chain's own code, so the replay driver's mutations start from
// bytes that get deep into the decoders.
//
//   ninja chain_fuzz_corpus && bin/chain_fuzz_corpus <repo>/tests/fuzz/corpus
//
// Writes <dir>/signed_tx/, tx_payloads/, genesis/ and chain_state/ (files are
// overwritten; nothing else is touched). Deterministic: ed25519 signatures
// and the fixed keys of chain_fuzz_util.h give the same bytes every run.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "chain/block.h"
#include "chain/messages.h"
#include "protocol/codec.h"
#include "tests/fuzz/chain_fuzz_util.h"

namespace {

using namespace agora;
using namespace agora::chain;

std::filesystem::path g_root;

void Write(const std::string& target, const std::string& name, const std::string& bytes) {
  const std::filesystem::path dir = g_root / target;
  std::filesystem::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "cannot write %s\n", (dir / name).c_str());
    std::exit(1);
  }
}

template <typename Payload>
void Tx(const std::string& name, const SigningKey& signer, const char* type, const Payload& p,
        uint8_t selector) {
  const ChainState& s = fuzz::State();
  auto it = s.accounts.find(signer.public_key());
  const uint64_t nonce = it == s.accounts.end() ? 0 : it->second.nonce;
  const SignedTx tx = MakeTx(signer, fuzz::kChainId, type, nonce, p);
  Write("signed_tx", name, protocol::Encode(tx));
  Write("tx_payloads", name, std::string(1, static_cast<char>(selector)) + protocol::Encode(p));
  if (name == "transfer") {
    Write("tx_payloads", "signed_tx", std::string(1, '\x01') + protocol::Encode(tx));
    Write("tx_payloads", "tx_body", std::string(1, '\x00') + tx.body);
    Write("tx_payloads", "tx_submit", std::string(1, '\x09') + protocol::Encode(TxSubmit{protocol::Encode(tx)}));
    Write("tx_payloads", "block_txs_request",
          std::string(1, '\x0a') + protocol::Encode(BlockTxsRequest{7, 1}));
    BlockTxs block;
    block.height = 7;
    block.block_hash = Blake2b256("block 7");
    block.timestamp_ms = 1'700'000'007'000;
    block.tx_count = 2;
    block.start = 1;
    block.txs = {protocol::Encode(tx)};
    Write("tx_payloads", "block_txs", std::string(1, '\x0b') + protocol::Encode(block));
  }
}

// A register_model payload; `name` empty gives an all-zero content hash.
RegisterModelTx Model(NetUid netuid, const std::string& name, const char* format) {
  RegisterModelTx m;
  m.netuid = netuid;
  if (!name.empty()) m.content_hash = Blake2b256(name);
  m.size_bytes = 1'234'567;
  m.format = format;
  m.tokenizer_hash = Blake2b256("tokenizer");
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  g_root = argv[1];
  const SigningKey cold0 = fuzz::Key("cold-0"), cold1 = fuzz::Key("cold-1"),
                   cold2 = fuzz::Key("cold-2"), hot0 = fuzz::Key("hot-0"),
                   hot1 = fuzz::Key("hot-1"), hot2 = fuzz::Key("hot-2");
  const ChainState& s = fuzz::State();

  // One accepted transaction of every type (and a few refused ones).
  Tx("transfer", cold1, kTxTransfer, TransferTx{cold2.public_key(), 12345}, 2);
  Tx("register_burn", cold2, kTxRegister, RegisterTx{1, hot2.public_key(), false, kMaxAmount, 0, 0}, 3);
  {
    // Difficulty 1: about every second nonce qualifies.
    uint64_t nonce = 0;
    while (LeadingZeroBits(PowHash(1, hot2.public_key(), cold2.public_key(),
                                   s.recent_blocks.at(s.height), nonce)) < 1) {
      ++nonce;
    }
    Tx("register_pow", cold2, kTxRegister, RegisterTx{1, hot2.public_key(), true, 0, s.height, nonce}, 3);
  }
  Tx("add_stake", cold1, kTxAddStake, StakeTx{hot0.public_key(), 77}, 4);
  Tx("remove_stake", cold1, kTxRemoveStake, StakeTx{hot1.public_key(), 500}, 4);
  Tx("serve_axon", hot1, kTxServeAxon, ServeAxonTx{1, "tcp://127.0.0.1:8091", 1}, 5);
  Tx("set_weights", hot0, kTxSetWeights, SetWeightsTx{1, {0, 1}, {100, 65535}, 0}, 6);
  Tx("set_weights_refused", hot1, kTxSetWeights, SetWeightsTx{1, {0, 1, 1}, {1, 2, 3}, 0}, 6);
  const std::string salt = "pepper";
  Tx("commit_weights", hot0, kTxCommitWeights,
     CommitWeightsTx{2, WeightsCommitHash(hot0.public_key(), 2, {0}, {1}, salt, 0)}, 7);
  Tx("reveal_weights", hot0, kTxRevealWeights, RevealWeightsTx{2, {0}, {1}, salt, 0}, 8);
  Tx("register_model", hot1, kTxRegisterModel, Model(1, "model one", kModelFormatAgoraGpt), 12);
  Tx("register_model_refused", hot1, kTxRegisterModel, Model(1, "", "onnx"), 12);

  // Genesis texts: the fuzz state's, a minimal one, and one with every parameter.
  Write("genesis", "fuzz.toml", fuzz::GenesisText());
  Write("genesis", "minimal.toml", "chain_id = \"x\"\n");
  Write("genesis", "all_params.toml",
        "chain_id = \"agora-devnet\"\nblock_interval_ms = 1000\n"
        "[[accounts]]\naddress = \"" + EncodeAddress(cold0.public_key()) + "\"\nbalance = 5\n"
        "[[subnets]]\nnetuid = 7\nname = \"all\"\nowner = \"" + EncodeAddress(cold0.public_key()) +
        "\"\nowner_hotkey = \"" + EncodeAddress(hot0.public_key()) + "\"\n[subnets.params]\n"
        "tempo = 360\nactivity_cutoff = 5000\nkappa = 32767\nbonds_penalty = 65535\n"
        "bonds_moving_average = 900000\nyuma3 = true\nliquid_alpha = true\nalpha_low = 45875\n"
        "alpha_high = 58982\nalpha_sigmoid_steepness = 1000\nmax_allowed_validators = 64\n"
        "max_allowed_uids = 256\nimmunity_period = 5000\nmin_non_immune_uids = 0\n"
        "stake_threshold = 0\nmin_allowed_weights = 1\nmax_weight_limit = 65535\n"
        "weights_set_rate_limit = 100\nweights_version = 0\ncommit_reveal = false\n"
        "reveal_period_epochs = 1\nserving_rate_limit = 50\nowner_cut = 11796\n"
        "emission_per_block = 1000000000\nburn = 1000000000\nmin_burn = 100000000\n"
        "max_burn = 100000000000\npow_difficulty = 12\nmin_pow_difficulty = 4\n"
        "max_pow_difficulty = 40\ntarget_regs_per_interval = 4\nadjustment_interval = 100\n"
        "max_regs_per_block = 4\n");

  // States: the genesis, the fuzz state, and one with weights, bonds, commits, axons and a model.
  absl::StatusOr<Genesis> g = ParseGenesis(fuzz::GenesisText(), "fuzz");
  if (!g.ok()) return 1;
  Write("chain_state", "genesis", protocol::Encode(g->state));
  Write("chain_state", "registered", protocol::Encode(s));
  ChainState busy = s;
  auto apply = [&](const SigningKey& k, const char* type, const auto& p) {
    auto it = busy.accounts.find(k.public_key());
    absl::StatusOr<TxBody> body =
        VerifyTx(MakeTx(k, fuzz::kChainId, type, it == busy.accounts.end() ? 0 : it->second.nonce, p));
    if (!body.ok() || !ApplyTx(busy, *body, busy.height + 1).ok()) std::exit(1);
  };
  apply(hot0, kTxSetWeights, SetWeightsTx{1, {0, 1}, {100, 65535}, 0});
  apply(hot1, kTxServeAxon, ServeAxonTx{1, "tcp://127.0.0.1:8091", 1});
  apply(hot0, kTxCommitWeights, CommitWeightsTx{2, Hash256{}});
  apply(hot0, kTxRegisterModel, Model(1, "model zero", kModelFormatTorchScript));
  for (int b = 0; b < 4; ++b) {
    if (!SealBlock(busy, 3000 + b * 1000, Hash256{}).ok()) return 1;
  }
  Write("chain_state", "busy", protocol::Encode(busy));
  std::printf("wrote the chain corpora under %s\n", g_root.c_str());
  return 0;
}
