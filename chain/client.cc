#include "chain/client.h"

#include <algorithm>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "chain/tx_reject.h"
#include "common/address.h"
#include "common/file_util.h"
#include "protocol/codec.h"
#include "protocol/refusal.h"

namespace agora::chain {

using protocol::MessageKind;

absl::StatusOr<protocol::Peer> ParseChainUrl(absl::string_view url) {
  const size_t at = url.find('@');
  if (at == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("chain url '", url, "': expected <address>@tcp://host:port"));
  }
  absl::StatusOr<PublicKey> key = ParseAddress(url.substr(0, at));
  if (!key.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("chain url: ", key.status().message()));
  }
  const absl::string_view endpoint = url.substr(at + 1);
  if (endpoint.substr(0, 6) != "tcp://" || endpoint.size() <= 6) {
    return absl::InvalidArgumentError(
        absl::StrCat("chain url '", url, "': endpoint must be tcp://host:port"));
  }
  return protocol::Peer{std::string(endpoint), *key};
}

std::string FormatChainUrl(const PublicKey& node_key, absl::string_view endpoint) {
  return absl::StrCat(EncodeAddress(node_key), "@", endpoint);
}

absl::StatusOr<std::string> ResolveChainUrl(absl::string_view url, absl::string_view url_file) {
  if (!url.empty()) return std::string(url);
  if (url_file.empty()) return absl::InvalidArgumentError("set chain_url or chain_url_file");
  absl::StatusOr<std::string> text = ReadFile(std::string(url_file), 4096);
  if (!text.ok()) return text.status();
  return std::string(absl::StripAsciiWhitespace(*text));
}

absl::StatusOr<std::unique_ptr<ChainClient>> ChainClient::Connect(
    absl::string_view chain_url, std::shared_ptr<const SigningKey> transport_key,
    ChainClientOptions options) {
  absl::StatusOr<protocol::Peer> peer = ParseChainUrl(chain_url);
  if (!peer.ok()) return peer.status();
  if (transport_key == nullptr) {
    transport_key = std::make_shared<const SigningKey>(SigningKey::Generate());
  }
  protocol::ClientOptions copts;
  copts.curve = options.curve;
  absl::StatusOr<std::unique_ptr<protocol::Client>> client =
      protocol::Client::Create(std::move(transport_key), copts);
  if (!client.ok()) return client.status();
  return std::unique_ptr<ChainClient>(
      new ChainClient(std::move(*peer), std::move(*client), options));
}

template <typename Req, typename Rep>
absl::StatusOr<Rep> ChainClient::Query(MessageKind req_kind, MessageKind rep_kind,
                                       const Req& req) {
  absl::Status last;
  for (int attempt = 0; attempt < std::max(1, options_.attempts); ++attempt) {
    absl::StatusOr<Rep> rep = client_->CallTyped<Req, Rep>(
        peer_, req_kind, rep_kind, req, protocol::DeadlineAfter(options_.timeout));
    if (rep.ok()) return rep;
    // Timeouts and a full send queue (a peer that is down or mid-restart) are retried;
    // refusals come back with the chain's own reason restored.
    if (rep.status().code() != absl::StatusCode::kDeadlineExceeded &&
        rep.status().code() != absl::StatusCode::kUnavailable) {
      return RestoreTxReject(rep.status());
    }
    last = rep.status();
  }
  return absl::UnavailableError(absl::StrCat("chain at ", peer_.endpoint, " did not answer ",
                                             options_.attempts, " times: ", last.message()));
}

absl::StatusOr<std::string> ChainClient::ChainId() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!chain_id_.empty()) return chain_id_;
  }
  absl::StatusOr<ChainStatus> st = Status();
  if (!st.ok()) return st.status();
  std::lock_guard<std::mutex> lock(mu_);
  chain_id_ = st->chain_id;
  return chain_id_;
}

absl::StatusOr<ChainStatus> ChainClient::Status() {
  return Query<ChainStatusRequest, ChainStatus>(MessageKind::kChainStatusRequest,
                                                MessageKind::kChainStatus, ChainStatusRequest{});
}

absl::StatusOr<AccountInfo> ChainClient::Account(const PublicKey& address) {
  return Query<AccountRequest, AccountInfo>(MessageKind::kAccountRequest,
                                            MessageKind::kAccountInfo, AccountRequest{address});
}

absl::StatusOr<Metagraph> ChainClient::GetMetagraph(NetUid netuid, bool validators_only,
                                                    bool include_weights) {
  return Query<MetagraphRequest, Metagraph>(
      MessageKind::kMetagraphRequest, MessageKind::kMetagraph,
      MetagraphRequest{netuid, validators_only, include_weights});
}

absl::StatusOr<TxLookupReply> ChainClient::Lookup(const Hash256& tx_hash) {
  return Query<TxLookup, TxLookupReply>(MessageKind::kTxLookup, MessageKind::kTxLookupReply,
                                        TxLookup{tx_hash});
}

absl::StatusOr<BlockTxs> ChainClient::BlockTransactions(BlockHeight height) {
  BlockTxs all;
  uint32_t start = 0;
  for (;;) {
    absl::StatusOr<BlockTxs> page = Query<BlockTxsRequest, BlockTxs>(
        MessageKind::kBlockTxsRequest, MessageKind::kBlockTxs, BlockTxsRequest{height, start});
    if (!page.ok()) {
      // The chain's NotFound crosses the wire as a bad-request refusal: restore it.
      absl::string_view msg = page.status().message();
      if (protocol::ReasonOf(page.status()) == protocol::Reason::kBadRequest &&
          absl::ConsumePrefix(&msg, "bad-request: ") && absl::StartsWith(msg, kNoBlockPrefix)) {
        return absl::NotFoundError(msg);
      }
      return page.status();
    }
    if (page->height != height || page->start != start || page->tx_count < start ||
        page->txs.size() > page->tx_count - start ||
        (page->txs.empty() && start < page->tx_count) ||
        (start > 0 && (page->block_hash != all.block_hash || page->tx_count != all.tx_count))) {
      return absl::InternalError(absl::StrCat("chain at ", peer_.endpoint,
                                              ": inconsistent BlockTxs page for block ", height,
                                              " at tx ", start));
    }
    const bool first_page = start == 0;
    start += static_cast<uint32_t>(page->txs.size());
    if (first_page) {
      all = std::move(*page);
    } else {
      for (std::string& tx : page->txs) all.txs.push_back(std::move(tx));
    }
    if (start >= all.tx_count) break;
  }
  all.start = 0;
  return all;
}

absl::StatusOr<TxReceiptMsg> ChainClient::Submit(const SignedTx& tx) {
  const TxSubmit req{protocol::Encode(tx)};
  const Hash256 hash = TxHash(tx);
  absl::Status last;
  for (int attempt = 0; attempt < std::max(1, options_.attempts); ++attempt) {
    if (attempt > 0) {
      // The earlier attempt may have landed: never send a transaction twice.
      absl::StatusOr<TxLookupReply> seen = Lookup(hash);
      if (seen.ok() && seen->found) return TxReceiptMsg{hash, seen->block, seen->index};
    }
    absl::StatusOr<TxReceiptMsg> rep = client_->CallTyped<TxSubmit, TxReceiptMsg>(
        peer_, MessageKind::kTxSubmit, MessageKind::kTxReceipt, req,
        protocol::DeadlineAfter(options_.timeout));
    if (rep.ok()) return rep;
    if (rep.status().code() != absl::StatusCode::kDeadlineExceeded) {
      return RestoreTxReject(rep.status());
    }
    last = rep.status();
  }
  return absl::UnavailableError(absl::StrCat("chain at ", peer_.endpoint, " did not confirm tx ",
                                             ToHex(hash).substr(0, 16), ": ", last.message()));
}

absl::StatusOr<ChainStatus> ChainClient::WaitForHeight(BlockHeight height,
                                                       std::chrono::milliseconds timeout) {
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    absl::StatusOr<ChainStatus> st = Status();
    if (!st.ok()) return st.status();
    if (st->height >= height) return st;
    if (std::chrono::steady_clock::now() >= give_up) {
      return absl::DeadlineExceededError(absl::StrCat("the chain is at block ", st->height,
                                                      ", not yet at ", height, ", after ",
                                                      timeout.count(), " ms"));
    }
    // A few polls per block: the wait ends soon after the seal, whatever
    // the interval, without asking a fast chain thousands of times.
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::clamp<uint64_t>(st->block_interval_ms / 4, 5, 1000)));
  }
}

absl::Status ChainClient::WaitOutLimit(const absl::Status& refusal, const LimitWait& wait,
                                       std::optional<BlockHeight>& last_block) {
  const std::optional<BlockHeight> retry = RetryBlockOf(refusal);
  if (!retry.has_value() || *retry == 0) return refusal;
  absl::StatusOr<ChainStatus> st = Status();
  if (!st.ok()) return refusal;
  if (!last_block.has_value()) last_block = st->height + 1 + wait.max_blocks;
  if (*retry > *last_block) return refusal;
  if (wait.on_wait) wait.on_wait(refusal, *retry);
  // A transaction lands in the block after the sealed height. Allow each
  // block four intervals (and at least 30 s) before calling the chain stuck.
  const uint64_t blocks = *retry > st->height ? *retry - st->height : 1;
  const auto timeout = std::chrono::milliseconds(
      std::max<uint64_t>(30'000, 4 * blocks * std::max<uint64_t>(st->block_interval_ms, 1)));
  absl::StatusOr<ChainStatus> reached = WaitForHeight(*retry - 1, timeout);
  if (!reached.ok()) {
    return absl::Status(reached.status().code(),
                        absl::StrCat(refusal.message(), "; waiting for block ", *retry,
                                     " to try again: ", reached.status().message()));
  }
  return absl::OkStatus();
}

}  // namespace agora::chain
