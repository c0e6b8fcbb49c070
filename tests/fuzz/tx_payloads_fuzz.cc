// Fuzz target: every chain transaction struct's decoder. The first byte picks
// the struct; whatever decodes must re-encode to exactly the same bytes.
#include <cstdint>
#include <cstdlib>

#include "chain/messages.h"
#include "chain/tx.h"
#include "protocol/codec.h"

namespace {

template <typename T>
void Check(absl::string_view bytes) {
  absl::StatusOr<T> value = agora::protocol::Decode<T>(bytes, "fuzz");
  if (value.ok() && agora::protocol::Encode(*value) != bytes) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agora::chain;
  if (size == 0) return 0;
  const absl::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 10) {
    case 0: Check<TxBody>(bytes); break;
    case 1: Check<SignedTx>(bytes); break;
    case 2: Check<TransferTx>(bytes); break;
    case 3: Check<RegisterTx>(bytes); break;
    case 4: Check<StakeTx>(bytes); break;
    case 5: Check<ServeAxonTx>(bytes); break;
    case 6: Check<SetWeightsTx>(bytes); break;
    case 7: Check<CommitWeightsTx>(bytes); break;
    case 8: Check<RevealWeightsTx>(bytes); break;
    case 9: Check<TxSubmit>(bytes); break;
  }
  return 0;
}
