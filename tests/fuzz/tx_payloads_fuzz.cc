// Fuzz target: every chain transaction struct's decoder, and the chain query
// messages that carry transactions (TxSubmit, BlockTxsRequest, BlockTxs). The
// first byte picks the struct; whatever decodes must re-encode to exactly the
// same bytes.
#include <cstdint>
#include <cstdlib>

#include "chain/messages.h"
#include "chain/tx.h"
#include "tests/fuzz/round_trip.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agora::chain;
  if (size == 0) return 0;
  const absl::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 13) {
    case 0: agora::fuzz::CheckRoundTrip<TxBody>(bytes); break;
    case 1: agora::fuzz::CheckRoundTrip<SignedTx>(bytes); break;
    case 2: agora::fuzz::CheckRoundTrip<TransferTx>(bytes); break;
    case 3: agora::fuzz::CheckRoundTrip<RegisterTx>(bytes); break;
    case 4: agora::fuzz::CheckRoundTrip<StakeTx>(bytes); break;
    case 5: agora::fuzz::CheckRoundTrip<ServeAxonTx>(bytes); break;
    case 6: agora::fuzz::CheckRoundTrip<SetWeightsTx>(bytes); break;
    case 7: agora::fuzz::CheckRoundTrip<CommitWeightsTx>(bytes); break;
    case 8: agora::fuzz::CheckRoundTrip<RevealWeightsTx>(bytes); break;
    case 9: agora::fuzz::CheckRoundTrip<TxSubmit>(bytes); break;
    case 10: agora::fuzz::CheckRoundTrip<BlockTxsRequest>(bytes); break;
    case 11: agora::fuzz::CheckRoundTrip<BlockTxs>(bytes); break;
    case 12: agora::fuzz::CheckRoundTrip<RegisterModelTx>(bytes); break;
  }
  return 0;
}
