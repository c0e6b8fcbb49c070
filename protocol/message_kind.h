// Message kinds: the one-byte tag in every envelope header that says which
// struct the body holds. Values are part of the protocol: never renumber.
// docs/PROTOCOL.md lists each kind with its struct.
#ifndef AGORA_PROTOCOL_MESSAGE_KIND_H_
#define AGORA_PROTOCOL_MESSAGE_KIND_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace agora::protocol {

enum class MessageKind : uint8_t {
  kError = 1,         // ErrorReply: a refusal or failure, sent in place of a reply
  kPing = 2,          // Ping: liveness and transport benchmarks
  kPong = 3,          // Pong
  kInfoRequest = 4,   // InfoRequest: who are you, what do you serve
  kInfoReply = 5,     // InfoReply
  // Chain (chain/messages.h).
  kTxSubmit = 20,           // TxSubmit: a signed transaction
  kTxReceipt = 21,          // TxReceiptMsg: where it landed (sent once durable)
  kChainStatusRequest = 22, // ChainStatusRequest
  kChainStatus = 23,        // ChainStatus: height, hashes, timing
  kAccountRequest = 24,     // AccountRequest
  kAccountInfo = 25,        // AccountInfo: balance, nonce, stakes
  kMetagraphRequest = 26,   // MetagraphRequest
  kMetagraph = 27,          // Metagraph: a subnet's parameters and neurons
  kTxLookup = 28,           // TxLookup: was this transaction accepted?
  kTxLookupReply = 29,      // TxLookupReply
  kBlockTxsRequest = 30,    // BlockTxsRequest: the transactions of a sealed block
  kBlockTxs = 31,           // BlockTxs
  // Tasks served by miners (protocol/task_messages.h).
  kPredictRequest = 40,     // PredictRequest: next-token distributions for prefixes
  kPredictReply = 41,       // PredictReply
  kGenerateRequest = 42,    // GenerateRequest: a completion
  kGenerateReply = 43,      // GenerateReply: the whole completion
  kGenerateChunk = 44,      // GenerateChunk: one streamed piece of a completion
  kModelFetchRequest = 45,  // ModelFetchRequest: a piece of the miner's model package
  kModelFetchReply = 46,    // ModelFetchReply
};

// "ping", "error", ... or "unknown" for a value with no name.
absl::string_view KindName(MessageKind kind);
// True for kinds this build knows.
bool IsKnownKind(uint8_t value);

}  // namespace agora::protocol

#endif  // AGORA_PROTOCOL_MESSAGE_KIND_H_
