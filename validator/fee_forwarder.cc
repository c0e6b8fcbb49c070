#include "validator/fee_forwarder.h"

#include <vector>

#include "chain/tx.h"
#include "chain/tx_reject.h"
#include "common/address.h"
#include "common/log.h"
#include "protocol/codec.h"

namespace agora::validator {
namespace {

absl::StatusOr<Forward> Sign(chain::ChainClient& chain, const SigningKey& signer, Forward f,
                             const std::string& chain_id, uint64_t nonce) {
  absl::StatusOr<PublicKey> to = ParseAddress(f.payee);
  if (!to.ok()) return to.status();
  chain::TransferTx t;
  t.to = *to;
  t.amount = f.amount;
  const chain::SignedTx tx = chain::MakeTx(signer, chain_id, chain::kTxTransfer, nonce, t);
  f.tx = protocol::Encode(tx);
  f.tx_hash = ToHex(chain::TxHash(tx));
  return f;
}

}  // namespace

absl::StatusOr<size_t> ForwardFees(chain::ChainClient& chain, UsageLedger& ledger,
                                   const SigningKey& signer, double share) {
  absl::StatusOr<chain::ChainStatus> status = chain.Status();
  if (!status.ok()) return status.status();
  int64_t upto = 0;
  std::vector<Forward> owed = ledger.OwedFees(share, &upto);
  if (!owed.empty() && ledger.PendingForwards().empty()) {
    absl::StatusOr<chain::AccountInfo> me = chain.Account(signer.public_key());
    if (!me.ok()) return me.status();
    std::vector<Forward> batch;
    for (size_t i = 0; i < owed.size(); ++i) {
      absl::StatusOr<Forward> f = Sign(chain, signer, owed[i], status->chain_id, me->nonce + i);
      if (!f.ok()) {
        AGORA_LOG(WARN, "gateway", "fee share for %s skipped: %s", owed[i].payee, f.status().ToString());
        continue;
      }
      batch.push_back(std::move(*f));
    }
    absl::Status s = ledger.AddForwards(batch, upto);
    if (!s.ok()) return s;
  }
  size_t done = 0;
  for (Forward f : ledger.PendingForwards()) {
    absl::StatusOr<std::string> hash_bytes = FromHex(f.tx_hash);
    Hash256 hash{};
    if (hash_bytes.ok() && hash_bytes->size() == hash.size()) std::copy(hash_bytes->begin(), hash_bytes->end(), hash.begin());
    absl::StatusOr<chain::TxLookupReply> seen = chain.Lookup(hash);
    if (!seen.ok()) return seen.status();  // the chain is away: retry next time
    if (!seen->found) {
      absl::StatusOr<chain::SignedTx> tx = chain::DecodeSignedTx(f.tx);
      if (!tx.ok()) return tx.status();
      absl::StatusOr<chain::TxReceiptMsg> r = chain.Submit(*tx);
      if (!r.ok() && chain::TxRejectOf(r.status()) == chain::TxReject::kBadNonce) {
        // Its nonce went to another transaction: sign again, store, send.
        absl::StatusOr<chain::AccountInfo> me = chain.Account(signer.public_key());
        if (!me.ok()) return me.status();
        absl::StatusOr<Forward> again = Sign(chain, signer, f, status->chain_id, me->nonce);
        if (!again.ok()) return again.status();
        f = std::move(*again);
        absl::Status s = ledger.UpdateForward(f);
        if (!s.ok()) return s;
        tx = chain::DecodeSignedTx(f.tx);
        if (!tx.ok()) return tx.status();
        r = chain.Submit(*tx);
      }
      if (!r.ok()) {
        if (!chain::TxRejectOf(r.status()).has_value()) return r.status();  // no answer: stays pending
        AGORA_LOG(WARN, "gateway", "fee transfer of %d to %s refused: %s", f.amount, f.payee,
                  r.status().ToString());
        f.state = "failed";
        absl::Status s = ledger.UpdateForward(f);
        if (!s.ok()) return s;
        continue;
      }
    }
    f.state = "done";
    absl::Status s = ledger.UpdateForward(f);
    if (!s.ok()) return s;
    AGORA_LOG(INFO, "gateway", "forwarded %d units of fees to miner coldkey %s", f.amount, f.payee);
    ++done;
  }
  return done;
}

}  // namespace agora::validator
