#include "validator/deposits.h"

#include <algorithm>
#include <vector>

#include "chain/tx.h"
#include "common/address.h"
#include "protocol/codec.h"

namespace agora::validator {

absl::StatusOr<size_t> ScanDeposits(chain::ChainClient& chain, UsageLedger& ledger,
                                    const PublicKey& account, uint64_t head, uint64_t max_blocks) {
  size_t credited = 0;
  const uint64_t from = ledger.scanned_height() + 1;
  const uint64_t to = std::min(head, ledger.scanned_height() + max_blocks);
  for (uint64_t h = from; h <= to; ++h) {
    absl::StatusOr<chain::BlockTxs> block = chain.BlockTransactions(h);
    if (absl::IsNotFound(block.status())) break;  // not sealed yet
    if (!block.ok()) return block.status();
    std::vector<Deposit> found;
    for (const std::string& bytes : block->txs) {
      absl::StatusOr<chain::SignedTx> tx = chain::DecodeSignedTx(bytes);
      if (!tx.ok()) continue;
      absl::StatusOr<chain::TxBody> body = chain::VerifyTx(*tx);
      if (!body.ok() || body->type != chain::kTxTransfer) continue;
      absl::StatusOr<chain::TransferTx> t =
          protocol::Decode<chain::TransferTx>(body->payload, "TransferTx");
      if (!t.ok() || t->to != account || t->amount == 0) continue;
      found.push_back(Deposit{ToHex(chain::TxHash(*tx)), EncodeAddress(body->signer), t->amount, h});
    }
    absl::Status s = ledger.RecordDeposits(found, h);
    if (!s.ok()) return s;
    credited += found.size();
  }
  return credited;
}

}  // namespace agora::validator
