// ChainClient: what miners, validators and the CLI use to talk to agora-chain
// over the signed ZeroMQ transport. Every call has a deadline; queries are
// retried on timeouts (ZeroMQ reconnects underneath), and a submission that
// timed out is looked up by hash before it is sent again, so a retry never
// double-applies a transaction.
//
// A chain is named by its URL, "<address>@tcp://host:port": the node's
// address (its hotkey, which signs every reply) and its request endpoint,
// as agora-chain writes to <data_dir>/chain.url.
//
// Thread-safe: calls may be made from any thread concurrently.
#ifndef AGORA_CHAIN_CLIENT_H_
#define AGORA_CHAIN_CLIENT_H_

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "chain/messages.h"
#include "chain/tx.h"
#include "protocol/zmq_client.h"

namespace agora::chain {

// Parses "<address>@tcp://host:port".
absl::StatusOr<protocol::Peer> ParseChainUrl(absl::string_view url);
std::string FormatChainUrl(const PublicKey& node_key, absl::string_view endpoint);
// The chain URL a daemon was given: `url` itself, or else the contents of
// `url_file` (<chain data dir>/chain.url, written when the node starts).
// InvalidArgument when neither is set; file errors otherwise.
absl::StatusOr<std::string> ResolveChainUrl(absl::string_view url, absl::string_view url_file);

struct ChainClientOptions {
  std::chrono::milliseconds timeout{5000};  // per attempt
  int attempts = 3;
  bool curve = true;
};

class ChainClient {
 public:
  // `transport_key` signs the envelopes (any key will do: the chain serves
  // everyone); null means a fresh random key.
  static absl::StatusOr<std::unique_ptr<ChainClient>> Connect(
      absl::string_view chain_url, std::shared_ptr<const SigningKey> transport_key = nullptr,
      ChainClientOptions options = {});

  absl::StatusOr<ChainStatus> Status();
  absl::StatusOr<AccountInfo> Account(const PublicKey& address);
  absl::StatusOr<Metagraph> GetMetagraph(NetUid netuid, bool validators_only = false,
                                         bool include_weights = false);
  absl::StatusOr<TxLookupReply> Lookup(const Hash256& tx_hash);
  // The transactions of sealed block `height`, in block order (every page of
  // it: the result has start 0 and txs.size() == tx_count). NotFound for a
  // height not sealed yet (ChainStatus can show a height a moment before its
  // seal is durable; a BlockEvent never does), InvalidArgument for height 0
  // (genesis is not a block). Each entry is a SignedTx encoding: decode with
  // DecodeSignedTx, check with VerifyTx.
  absl::StatusOr<BlockTxs> BlockTransactions(BlockHeight height);

  // Submits a signed transaction; returns once the chain has made it durable.
  // Refusals carry the chain's reason (chain/tx_reject.h TxRejectOf).
  absl::StatusOr<TxReceiptMsg> Submit(const SignedTx& tx);
  // Builds, signs and submits `payload` from `signer`, with its current nonce.
  template <typename Payload>
  absl::StatusOr<TxReceiptMsg> Send(const SigningKey& signer, const char* type,
                                    const Payload& payload);

  // Waits until the chain has sealed block `height` (its status shows it),
  // polling a few times per block interval. Returns that status;
  // DeadlineExceeded if the chain has not got there after `timeout`.
  absl::StatusOr<ChainStatus> WaitForHeight(BlockHeight height, std::chrono::milliseconds timeout);

  // How SendWhenAllowed waits out a limit.
  struct LimitWait {
    // Wait for at most this many blocks past the chain's height at the first
    // refusal; a limit that lifts later is returned as the refusal it is.
    BlockHeight max_blocks = 30;
    // Told before each wait: the refusal and the block the retry aims at.
    std::function<void(const absl::Status& refusal, BlockHeight retry_block)> on_wait;
  };
  // Send(), but a refusal by a limit that passes with the blocks (a subnet's
  // registrations per block, the serve_axon and set_weights rate limits:
  // RetryBlockOf in chain/tx_reject.h) waits for the block that lifts it and
  // sends again, signed anew with the account's nonce then. Any other
  // refusal, or a limit past `wait.max_blocks`, is returned as it came.
  template <typename Payload>
  absl::StatusOr<TxReceiptMsg> SendWhenAllowed(const SigningKey& signer, const char* type,
                                               const Payload& payload, const LimitWait& wait = {});

  const protocol::Peer& peer() const { return peer_; }

 private:
  ChainClient(protocol::Peer peer, std::unique_ptr<protocol::Client> client,
              ChainClientOptions options)
      : peer_(std::move(peer)), client_(std::move(client)), options_(options) {}
  template <typename Req, typename Rep>
  absl::StatusOr<Rep> Query(protocol::MessageKind req_kind, protocol::MessageKind rep_kind,
                            const Req& req);

  protocol::Peer peer_;
  std::unique_ptr<protocol::Client> client_;
  ChainClientOptions options_;
  absl::StatusOr<std::string> ChainId();
  // For SendWhenAllowed: OK once the limit behind `refusal` has passed (send
  // again), else the status to return. `last_block` is the latest block worth
  // waiting for, set on the first call.
  absl::Status WaitOutLimit(const absl::Status& refusal, const LimitWait& wait,
                            std::optional<BlockHeight>& last_block);

  std::mutex mu_;
  std::string chain_id_;  // learned on first Send; guarded by mu_
};

template <typename Payload>
absl::StatusOr<TxReceiptMsg> ChainClient::Send(const SigningKey& signer, const char* type,
                                               const Payload& payload) {
  absl::StatusOr<std::string> chain_id = ChainId();
  if (!chain_id.ok()) return chain_id.status();
  absl::StatusOr<AccountInfo> account = Account(signer.public_key());
  if (!account.ok()) return account.status();
  return Submit(MakeTx(signer, *chain_id, type, account->nonce, payload));
}

template <typename Payload>
absl::StatusOr<TxReceiptMsg> ChainClient::SendWhenAllowed(const SigningKey& signer,
                                                          const char* type, const Payload& payload,
                                                          const LimitWait& wait) {
  std::optional<BlockHeight> last_block;
  for (;;) {
    absl::StatusOr<TxReceiptMsg> r = Send(signer, type, payload);
    if (r.ok()) return r;
    absl::Status waited = WaitOutLimit(r.status(), wait, last_block);
    if (!waited.ok()) return waited;
  }
}

}  // namespace agora::chain

#endif  // AGORA_CHAIN_CLIENT_H_
