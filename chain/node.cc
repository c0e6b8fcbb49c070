#include "chain/node.h"

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>

#include <zmq.hpp>

#include "absl/strings/str_cat.h"
#include "chain/client.h"
#include "chain/genesis.h"
#include "chain/ledger.h"
#include "chain/messages.h"
#include "chain/node_key.h"
#include "chain/tx_reject.h"
#include "common/address.h"
#include "common/clock.h"
#include "common/file_util.h"
#include "common/log.h"
#include "protocol/codec.h"
#include "protocol/envelope.h"
#include "protocol/replay_window.h"
#include "protocol/zmq_server.h"

namespace agora::chain {
namespace {

using protocol::MessageKind;
using protocol::RequestContext;

// A BlockTxs page is at most kBlockTxsPageBytes of SignedTx encodings (each
// at most kMaxTxBytes, so a page always holds at least one), plus per string
// at most 5 bytes of msgpack header (under 1/8 of a SignedTx, whose signature
// alone is 64 bytes) and the fixed fields: it must fit an envelope.
static_assert(kMaxTxBytes <= kBlockTxsPageBytes);
static_assert(kBlockTxsPageBytes + kBlockTxsPageBytes / 8 + 1024 + protocol::kEnvelopeOverhead <=
              protocol::kDefaultMaxEnvelopeBytes);

NeuronInfo DescribeNeuron(const ChainState& state, const Neuron& n, Uid uid,
                          bool include_weights) {
  NeuronInfo info;
  info.uid = uid;
  info.hotkey = n.hotkey;
  info.coldkey = n.coldkey;
  info.stake = HotkeyStake(state, n.hotkey);
  info.axon_endpoint = n.axon.endpoint;
  info.axon_version = n.axon.version;
  info.active = n.active;
  info.validator_permit = n.validator_permit;
  info.stake_weight = n.stake_weight;
  info.rank = n.incentive;
  info.consensus = n.consensus;
  info.validator_trust = n.validator_trust;
  info.incentive = n.incentive;
  info.dividends = n.dividends;
  info.emission = n.emission;
  info.registered_at = n.registered_at;
  info.last_update = n.last_update;
  info.pending_commits = static_cast<uint32_t>(n.commits.size());
  if (include_weights) info.weights = n.weights;
  info.model = n.model;
  return info;
}

void RegisterHandlers(protocol::Server& server, Ledger& ledger, const Genesis& genesis,
                      uint64_t block_interval_ms, const std::string& events_endpoint) {
  server.Handle<TxSubmit, TxReceiptMsg>(
      MessageKind::kTxSubmit, MessageKind::kTxReceipt,
      [&ledger](const RequestContext&, const TxSubmit& req) -> absl::StatusOr<TxReceiptMsg> {
        absl::StatusOr<TxReceipt> r = ledger.Submit(req.tx);
        if (!r.ok()) return r.status();
        return TxReceiptMsg{r->tx_hash, r->block, r->index};
      });
  server.Handle<TxLookup, TxLookupReply>(
      MessageKind::kTxLookup, MessageKind::kTxLookupReply,
      [&ledger](const RequestContext&, const TxLookup& req) -> absl::StatusOr<TxLookupReply> {
        absl::StatusOr<std::optional<TxRecord>> r = ledger.FindTx(req.tx_hash);
        if (!r.ok()) return r.status();
        TxLookupReply reply;
        if (r->has_value()) {
          reply.found = true;
          reply.block = (*r)->block;
          reply.index = (*r)->index;
        }
        return reply;
      });
  server.Handle<BlockTxsRequest, BlockTxs>(
      MessageKind::kBlockTxsRequest, MessageKind::kBlockTxs,
      [&ledger](const RequestContext&, const BlockTxsRequest& req) -> absl::StatusOr<BlockTxs> {
        if (req.height == 0) {
          return absl::InvalidArgumentError(
              "height 0 is the genesis state: not a block, no transactions (blocks start at 1)");
        }
        absl::StatusOr<std::optional<SealedBlockTxs>> r =
            ledger.FindBlockTxs(req.height, req.start, kBlockTxsPageBytes);
        if (!r.ok()) return r.status();
        if (!r->has_value()) {
          BlockHeight height = 0;
          ledger.Read([&](const ChainState& s) { height = s.height; });
          return absl::NotFoundError(absl::StrCat(kNoBlockPrefix, req.height,
                                                  " (not sealed yet; the chain is at height ",
                                                  height, ")"));
        }
        const SealedBlockTxs& block = **r;
        if (req.start > block.block.tx_count) {
          return absl::OutOfRangeError(absl::StrCat("start ", req.start, " is past the ",
                                                    block.block.tx_count, " txs of block ",
                                                    req.height));
        }
        BlockTxs reply;
        reply.height = block.block.height;
        reply.block_hash = block.block.hash;
        reply.timestamp_ms = block.block.timestamp_ms;
        reply.tx_count = block.block.tx_count;
        reply.start = req.start;
        reply.txs.reserve(block.txs.size());
        for (const TxRecord& tx : block.txs) reply.txs.push_back(tx.bytes);
        return reply;
      });
  server.Handle<ChainStatusRequest, ChainStatus>(
      MessageKind::kChainStatusRequest, MessageKind::kChainStatus,
      [&ledger, &genesis, block_interval_ms, events_endpoint](
          const RequestContext&, const ChainStatusRequest&) -> absl::StatusOr<ChainStatus> {
        ChainStatus st;
        ledger.Read([&](const ChainState& s) {
          st.chain_id = s.chain_id;
          st.height = s.height;
          st.block_hash = s.block_hash;
          st.block_time_ms = s.block_time_ms;
          st.total_issuance = s.total_issuance;
          for (const auto& [netuid, subnet] : s.subnets) st.subnets.push_back(netuid);
        });
        st.genesis_hash = genesis.hash;
        st.block_interval_ms = block_interval_ms;
        st.events_endpoint = events_endpoint;
        return st;
      });
  server.Handle<AccountRequest, AccountInfo>(
      MessageKind::kAccountRequest, MessageKind::kAccountInfo,
      [&ledger](const RequestContext&, const AccountRequest& req) -> absl::StatusOr<AccountInfo> {
        AccountInfo info;
        ledger.Read([&](const ChainState& s) {
          info.height = s.height;
          if (auto it = s.accounts.find(req.address); it != s.accounts.end()) {
            info.balance = it->second.balance;
            info.nonce = it->second.nonce;
          }
          for (const auto& [key, amount] : s.stake) {
            if (key.first == req.address || key.second == req.address) {
              info.stakes.push_back(StakeEntry{key.first, key.second, amount});
            }
          }
        });
        return info;
      });
  server.Handle<MetagraphRequest, Metagraph>(
      MessageKind::kMetagraphRequest, MessageKind::kMetagraph,
      [&ledger](const RequestContext&, const MetagraphRequest& req) -> absl::StatusOr<Metagraph> {
        Metagraph mg;
        bool found = false;
        ledger.Read([&](const ChainState& s) {
          auto it = s.subnets.find(req.netuid);
          if (it == s.subnets.end()) return;
          found = true;
          const SubnetState& subnet = it->second;
          mg.netuid = subnet.netuid;
          mg.name = subnet.name;
          mg.block = s.height;
          mg.params = subnet.params;
          mg.epoch_index = subnet.epoch_index;
          mg.last_epoch_block = subnet.last_epoch_block;
          mg.pending_emission = subnet.pending_emission;
          mg.n = static_cast<uint32_t>(subnet.neurons.size());
          for (size_t uid = 0; uid < subnet.neurons.size(); ++uid) {
            const Neuron& n = subnet.neurons[uid];
            if (req.validators_only && !n.validator_permit) continue;
            mg.neurons.push_back(DescribeNeuron(s, n, static_cast<Uid>(uid), req.include_weights));
          }
        });
        if (!found) {
          return Reject(TxReject::kUnknownSubnet, absl::StrCat("netuid ", req.netuid));
        }
        return mg;
      });
}

}  // namespace

absl::Status RunChainNode(const ChainNodeOptions& options, const std::atomic<bool>* stop) {
  absl::StatusOr<Genesis> genesis = LoadGenesis(options.genesis_path);
  if (!genesis.ok()) return genesis.status();
  const uint64_t interval = options.block_interval_ms.value_or(genesis->block_interval_ms);
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("data dir ", options.data_dir, ": ", ec.message()));
  }
  absl::StatusOr<SigningKey> key = LoadOrCreateNodeKey(options.data_dir + "/node.key");
  if (!key.ok()) return key.status();
  auto node_key = std::make_shared<const SigningKey>(std::move(*key));

  LedgerOptions lopts;
  lopts.snapshot_every_blocks = options.snapshot_every_blocks;
  absl::StatusOr<std::unique_ptr<Ledger>> ledger =
      Ledger::Open(*genesis, options.data_dir + "/chain.db", lopts);
  if (!ledger.ok()) return ledger.status();

  protocol::NonceWindow::Options wopts;
  absl::StatusOr<std::unique_ptr<protocol::NonceWindow>> replay =
      protocol::NonceWindow::Open(options.data_dir + "/replay.log", wopts);
  if (!replay.ok()) return replay.status();

  zmq::context_t context(1);
  zmq::socket_t events(context, zmq::socket_type::pub);
  try {
    events.set(zmq::sockopt::linger, 0);
    events.bind(options.events_endpoint);
  } catch (const zmq::error_t& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot bind events endpoint ", options.events_endpoint, ": ", e.what()));
  }
  const std::string events_endpoint = events.get(zmq::sockopt::last_endpoint);

  protocol::ServerOptions sopts;
  sopts.endpoint = options.endpoint;
  sopts.workers = options.workers;
  sopts.replay = replay->get();
  sopts.curve = options.curve;
  sopts.queue_capacity = 4096;
  protocol::Server server(node_key, sopts);
  RegisterHandlers(server, **ledger, *genesis, interval, events_endpoint);
  if (absl::Status s = server.Start(); !s.ok()) return s;

  const std::string url = FormatChainUrl(node_key->public_key(), server.endpoint());
  if (absl::Status s = WriteFileAtomic(options.data_dir + "/chain.url", url + "\n", 0644);
      !s.ok()) {
    return s;
  }
  uint64_t height = 0;
  (*ledger)->Read([&](const ChainState& s) { height = s.height; });
  AGORA_LOG(INFO, "chain", "chain '%s' at height %d serving %s (events %s), block every %d ms",
            genesis->state.chain_id, height, url, events_endpoint, interval);

  auto next = std::chrono::steady_clock::now() + std::chrono::milliseconds(interval);
  while (!stop->load()) {
    const auto now = std::chrono::steady_clock::now();
    if (now < next) {
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          next - now, std::chrono::milliseconds(100)));
      continue;
    }
    next += std::chrono::milliseconds(interval);
    if (next < now) next = now + std::chrono::milliseconds(interval);  // we fell behind
    absl::StatusOr<BlockReport> block = (*ledger)->SealBlock(UnixMillis());
    if (!block.ok()) {
      server.Stop();
      return block.status();
    }
    BlockEvent ev{block->height, block->block_hash, block->timestamp_ms, block->tx_count, {}};
    for (const EpochReport& e : block->epochs) {
      ev.epochs.push_back(EpochEvent{e.netuid, e.epoch_index, e.distributed});
      AGORA_LOG(INFO, "chain", "block %d: epoch %d of netuid %d distributed %d", block->height,
                e.epoch_index, e.netuid, e.distributed);
    }
    AGORA_LOG(DEBUG, "chain", "block %d sealed with %d txs", block->height, block->tx_count);
    const std::string payload = protocol::Encode(ev);
    events.send(zmq::buffer(std::string_view("block")), zmq::send_flags::sndmore);
    events.send(zmq::buffer(payload), zmq::send_flags::none);
  }
  AGORA_LOG(INFO, "chain", "stopping");
  server.Stop();
  return absl::OkStatus();
}

}  // namespace agora::chain
