#include "protocol/message_kind.h"

namespace agora::protocol {

absl::string_view KindName(MessageKind kind) {
  switch (kind) {
    case MessageKind::kError: return "error";
    case MessageKind::kPing: return "ping";
    case MessageKind::kPong: return "pong";
    case MessageKind::kInfoRequest: return "info-request";
    case MessageKind::kInfoReply: return "info-reply";
  }
  return "unknown";
}

bool IsKnownKind(uint8_t value) {
  return KindName(static_cast<MessageKind>(value)) != "unknown";
}

}  // namespace agora::protocol
