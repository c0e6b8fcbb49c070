// Fuzz target: a chain transaction as the ledger receives it (Ledger::Submit).
// DecodeSignedTx, VerifyTx, the TxBody and every payload decoder: whatever
// decodes must re-encode to exactly the same bytes. The body (signature or
// not) is then applied to a small fixed state: a refusal must carry a reason
// and leave the state byte-identical, and an acceptance must keep
// total_issuance equal to what circulates.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "chain/apply.h"
#include "chain/tx.h"
#include "chain/tx_reject.h"
#include "protocol/codec.h"
#include "tests/fuzz/chain_fuzz_util.h"

namespace {

using namespace agora::chain;

template <typename T>
void CheckPayload(absl::string_view bytes) {
  absl::StatusOr<T> value = agora::protocol::Decode<T>(bytes, "payload");
  if (value.ok() && agora::protocol::Encode(*value) != bytes) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<SignedTx> tx = DecodeSignedTx(bytes);
  if (!tx.ok()) {
    if (!TxRejectOf(tx.status()).has_value()) std::abort();  // always a "bad-tx"
    return 0;
  }
  if (agora::protocol::Encode(*tx) != bytes) std::abort();
  (void)TxHash(*tx);
  absl::StatusOr<TxBody> verified = VerifyTx(*tx);
  if (!verified.ok() && !TxRejectOf(verified.status()).has_value()) std::abort();
  absl::StatusOr<TxBody> body = agora::protocol::Decode<TxBody>(tx->body, "TxBody");
  if (!body.ok()) return 0;
  if (agora::protocol::Encode(*body) != tx->body) std::abort();
  CheckPayload<TransferTx>(body->payload);
  CheckPayload<RegisterTx>(body->payload);
  CheckPayload<StakeTx>(body->payload);
  CheckPayload<ServeAxonTx>(body->payload);
  CheckPayload<SetWeightsTx>(body->payload);
  CheckPayload<CommitWeightsTx>(body->payload);
  CheckPayload<RevealWeightsTx>(body->payload);
  CheckPayload<RegisterModelTx>(body->payload);

  ChainState state = fuzz::State();
  const std::string before = agora::protocol::Encode(state);
  const absl::Status s = ApplyTx(state, *body, state.height + 1);
  if (s.ok()) {
    if (state.total_issuance != CirculatingTotal(state)) std::abort();
  } else {
    if (!TxRejectOf(s).has_value()) std::abort();
    if (agora::protocol::Encode(state) != before) std::abort();
  }
  return 0;
}
