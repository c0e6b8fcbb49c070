// Chain transactions: wire structs, signing and verification.
//
// A SignedTx carries the exact bytes of a TxBody and an ed25519 signature by
// TxBody.signer over "agora-tx-v1" || body bytes. The chain verifies those
// bytes, then decodes them canonically (protocol/codec.h), then decodes the
// type-specific payload. The stored log keeps SignedTx bytes, so anyone can
// re-verify history. docs/CHAIN.md lists every type with its rules.
//
// Thread-safe: pure functions.
#ifndef AGORA_CHAIN_TX_H_
#define AGORA_CHAIN_TX_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/msgpack.h"

#include "absl/status/statusor.h"
#include "chain/state.h"
#include "common/crypto.h"

namespace agora::chain {

// Transaction type names (TxBody.type). Part of the protocol.
inline constexpr char kTxTransfer[] = "transfer";
inline constexpr char kTxRegister[] = "register";
inline constexpr char kTxAddStake[] = "add_stake";
inline constexpr char kTxRemoveStake[] = "remove_stake";
inline constexpr char kTxServeAxon[] = "serve_axon";
inline constexpr char kTxSetWeights[] = "set_weights";
inline constexpr char kTxCommitWeights[] = "commit_weights";
inline constexpr char kTxRevealWeights[] = "reveal_weights";
inline constexpr char kTxRegisterModel[] = "register_model";

inline constexpr size_t kMaxTxBytes = 256 * 1024;  // a 4096-uid weight vector fits easily

struct TxBody {
  std::string chain_id;   // replay protection across chains
  std::string type;       // one of kTx*
  PublicKey signer{};     // coldkey (transfer, register, stake) or hotkey (the rest)
  uint64_t nonce = 0;     // must equal the signer account's nonce
  std::string payload;    // msgpack of the type's struct below
  MSGPACK_DEFINE_MAP(chain_id, type, signer, nonce, payload)
};

struct SignedTx {
  std::string body;       // exact TxBody bytes that were signed
  Signature signature{};
  MSGPACK_DEFINE_MAP(body, signature)
};

struct TransferTx {
  PublicKey to{};
  Amount amount = 0;
  MSGPACK_DEFINE_MAP(to, amount)
};

// Registers `hotkey` (owned by the signing coldkey) on a subnet, paying either
// the current burn (pow = false; refused if above max_burn) or a proof of work:
// BLAKE2b-256("agora-pow-v1" || netuid || hotkey || coldkey || hash of block
// pow_block || pow_nonce) with at least the subnet's difficulty in leading
// zero bits, pow_block within the last kPowMaxAge blocks.
struct RegisterTx {
  NetUid netuid = 0;
  PublicKey hotkey{};
  bool pow = false;
  Amount max_burn = 0;
  BlockHeight pow_block = 0;
  uint64_t pow_nonce = 0;
  MSGPACK_DEFINE_MAP(netuid, hotkey, pow, max_burn, pow_block, pow_nonce)
};
inline constexpr BlockHeight kPowMaxAge = 64;

struct StakeTx {  // add_stake and remove_stake
  PublicKey hotkey{};
  Amount amount = 0;
  MSGPACK_DEFINE_MAP(hotkey, amount)
};

struct ServeAxonTx {
  NetUid netuid = 0;
  std::string endpoint;  // tcp://host:port, at most 256 bytes
  uint32_t version = 0;
  MSGPACK_DEFINE_MAP(netuid, endpoint, version)
};

struct SetWeightsTx {
  NetUid netuid = 0;
  std::vector<uint16_t> uids;
  std::vector<uint16_t> weights;
  uint64_t version_key = 0;
  MSGPACK_DEFINE_MAP(netuid, uids, weights, version_key)
};

struct CommitWeightsTx {
  NetUid netuid = 0;
  Hash256 commit_hash{};  // WeightsCommitHash(...) of the later reveal
  MSGPACK_DEFINE_MAP(netuid, commit_hash)
};

struct RevealWeightsTx {
  NetUid netuid = 0;
  std::vector<uint16_t> uids;
  std::vector<uint16_t> weights;
  std::string salt;
  uint64_t version_key = 0;
  MSGPACK_DEFINE_MAP(netuid, uids, weights, salt, version_key)
};

// Registers the model `hotkey` (the signer) serves on a subnet; a new one
// replaces the old (docs/CHAIN.md).
struct RegisterModelTx {
  NetUid netuid = 0;
  Hash256 content_hash{};
  uint64_t size_bytes = 0;
  std::string format;
  Hash256 tokenizer_hash{};
  MSGPACK_DEFINE_MAP(netuid, content_hash, size_bytes, format, tokenizer_hash)
};

// Builds and signs a transaction.
template <typename Payload>
SignedTx MakeTx(const SigningKey& signer, const std::string& chain_id, const char* type,
                uint64_t nonce, const Payload& payload);

// Verifies the signature over the exact body bytes, then decodes the body.
// Refusals: "bad-tx" (malformed or oversize), "bad-signature".
absl::StatusOr<TxBody> VerifyTx(const SignedTx& tx);
// Decodes SignedTx bytes (as received or stored).
absl::StatusOr<SignedTx> DecodeSignedTx(absl::string_view bytes);
// The transaction id: BLAKE2b-256 of the SignedTx encoding.
Hash256 TxHash(const SignedTx& tx);

// The commitment a commit_weights carries for a later reveal by `hotkey`.
Hash256 WeightsCommitHash(const PublicKey& hotkey, NetUid netuid, const std::vector<uint16_t>& uids,
                          const std::vector<uint16_t>& weights, const std::string& salt,
                          uint64_t version_key);
// The proof-of-work hash of a registration.
Hash256 PowHash(NetUid netuid, const PublicKey& hotkey, const PublicKey& coldkey,
                const Hash256& block_hash, uint64_t pow_nonce);
// Number of leading zero bits of `h`.
uint32_t LeadingZeroBits(const Hash256& h);

}  // namespace agora::chain

#include "chain/tx_inl.h"

#endif  // AGORA_CHAIN_TX_H_
