// The node identity key of agora-chain: an ed25519 key that signs the node's
// replies (clients address requests to it). It holds no funds, so like an SSH
// host key it is stored unencrypted, as its 32-byte seed in a 0600 file.
#ifndef AGORA_CHAIN_NODE_KEY_H_
#define AGORA_CHAIN_NODE_KEY_H_

#include <string>

#include "absl/status/statusor.h"
#include "common/crypto.h"

namespace agora::chain {

// Loads the key at `path`, or creates one there (atomically, mode 0600) if
// the file does not exist. DataLoss for a file of the wrong size.
absl::StatusOr<SigningKey> LoadOrCreateNodeKey(const std::string& path);

}  // namespace agora::chain

#endif  // AGORA_CHAIN_NODE_KEY_H_
