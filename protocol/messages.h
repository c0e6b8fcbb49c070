// Wire structs of the transport layer itself, each with its encoding beside
// its fields. Task messages (predict, generate) and chain messages live in
// their own headers and follow the same pattern. docs/PROTOCOL.md describes
// every message; field names and order are part of the protocol.
#ifndef AGORA_PROTOCOL_MESSAGES_H_
#define AGORA_PROTOCOL_MESSAGES_H_

#include <cstdint>
#include <string>

#include "common/msgpack.h"

namespace agora::protocol {

// kError: sent in place of a reply when a request is refused or fails.
// `reason` is a stable string from protocol/refusal.h; `detail` is for people.
struct ErrorReply {
  std::string reason;
  std::string detail;
  MSGPACK_DEFINE_MAP(reason, detail)
};

// kPing / kPong: liveness checks and transport benchmarks. The responder
// echoes `seq` and `payload`.
struct Ping {
  uint64_t seq = 0;
  std::string payload;
  MSGPACK_DEFINE_MAP(seq, payload)
};
struct Pong {
  uint64_t seq = 0;
  std::string payload;
  MSGPACK_DEFINE_MAP(seq, payload)
};

// kInfoRequest / kInfoReply: what a node is and what it serves.
struct InfoRequest {
  uint32_t detail = 0;  // reserved; 0
  MSGPACK_DEFINE_MAP(detail)
};
struct InfoReply {
  std::string role;      // "miner", "validator", "chain", ...
  std::string version;   // software version
  uint32_t protocol = 0; // envelope version spoken
  std::string model;     // content hash of the served model, hex; empty if none
  MSGPACK_DEFINE_MAP(role, version, protocol, model)
};

}  // namespace agora::protocol

#endif  // AGORA_PROTOCOL_MESSAGES_H_
