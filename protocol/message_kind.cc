#include "protocol/message_kind.h"

namespace agora::protocol {

absl::string_view KindName(MessageKind kind) {
  switch (kind) {
    case MessageKind::kError: return "error";
    case MessageKind::kPing: return "ping";
    case MessageKind::kPong: return "pong";
    case MessageKind::kInfoRequest: return "info-request";
    case MessageKind::kInfoReply: return "info-reply";
    case MessageKind::kTxSubmit: return "tx-submit";
    case MessageKind::kTxReceipt: return "tx-receipt";
    case MessageKind::kChainStatusRequest: return "chain-status-request";
    case MessageKind::kChainStatus: return "chain-status";
    case MessageKind::kAccountRequest: return "account-request";
    case MessageKind::kAccountInfo: return "account-info";
    case MessageKind::kMetagraphRequest: return "metagraph-request";
    case MessageKind::kMetagraph: return "metagraph";
    case MessageKind::kTxLookup: return "tx-lookup";
    case MessageKind::kTxLookupReply: return "tx-lookup-reply";
    case MessageKind::kBlockTxsRequest: return "block-txs-request";
    case MessageKind::kBlockTxs: return "block-txs";
    case MessageKind::kPredictRequest: return "predict-request";
    case MessageKind::kPredictReply: return "predict-reply";
    case MessageKind::kGenerateRequest: return "generate-request";
    case MessageKind::kGenerateReply: return "generate-reply";
    case MessageKind::kGenerateChunk: return "generate-chunk";
    case MessageKind::kModelFetchRequest: return "model-fetch-request";
    case MessageKind::kModelFetchReply: return "model-fetch-reply";
  }
  return "unknown";
}

bool IsKnownKind(uint8_t value) {
  return KindName(static_cast<MessageKind>(value)) != "unknown";
}

}  // namespace agora::protocol
