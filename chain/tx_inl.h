// Template definitions for chain/tx.h. Include chain/tx.h, not this file.
#ifndef AGORA_CHAIN_TX_INL_H_
#define AGORA_CHAIN_TX_INL_H_

#include "protocol/codec.h"

namespace agora::chain {

std::string TxSigningInput(absl::string_view body);

template <typename Payload>
SignedTx MakeTx(const SigningKey& signer, const std::string& chain_id, const char* type,
                uint64_t nonce, const Payload& payload) {
  TxBody body;
  body.chain_id = chain_id;
  body.type = type;
  body.signer = signer.public_key();
  body.nonce = nonce;
  body.payload = protocol::Encode(payload);
  SignedTx tx;
  tx.body = protocol::Encode(body);
  tx.signature = signer.Sign(TxSigningInput(tx.body));
  return tx;
}

}  // namespace agora::chain

#endif  // AGORA_CHAIN_TX_INL_H_
