// Wire test vectors: every message body, a few whole envelopes and a signed
// transaction of each type, built from fixed inputs (keys from fixed seeds,
// fixed nonces and timestamps) with the project's own encoders and compared
// byte for byte with tests/protocol/testdata/wire_vectors.txt, the file an
// independent client checks itself against (docs/PROTOCOL.md "Test vectors").
//
// Each vector in the file is also decoded back (and, for envelopes and
// transactions, verified) and must re-encode to the same bytes; the float
// rules (whole numbers as integers, float32 otherwise, float64 refused) are
// checked on their own.
//
// AGORA_WRITE_VECTORS=1 rewrites the file from the code instead of comparing:
// run it after a deliberate wire change, and review the diff.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "chain/messages.h"
#include "chain/tx.h"
#include "chain/tx_reject.h"
#include "common/crypto.h"
#include "protocol/codec.h"
#include "protocol/envelope.h"
#include "protocol/error_reply.h"
#include "protocol/messages.h"
#include "protocol/nonce.h"
#include "protocol/refusal.h"
#include "protocol/model_package.h"
#include "protocol/task_messages.h"

#ifndef AGORA_WIRE_VECTORS_FILE
#error "AGORA_WIRE_VECTORS_FILE must name tests/protocol/testdata/wire_vectors.txt"
#endif

namespace agora {
namespace {

using protocol::Decode;
using protocol::Encode;
using protocol::MessageKind;

// ---- fixed inputs ---------------------------------------------------------

constexpr char kChainId[] = "agora-devnet";
constexpr uint64_t kNonce = 1'700'000'000'000'000;  // envelope nonces: microseconds, as NonceGenerator
constexpr uint64_t kTimestampMs = 1'700'000'000'000;

SigningKey KeyFromByte(uint8_t b) {
  std::array<uint8_t, kSeedBytes> seed;
  seed.fill(b);
  return *SigningKey::FromSeed(seed);
}

Hash256 Filled(uint8_t b) {
  Hash256 h;
  h.fill(b);
  return h;
}

// Seeds are 32 copies of one byte.
struct Keys {
  SigningKey coldkey = KeyFromByte(0x01);    // an account: transfer, register, stakes
  SigningKey miner = KeyFromByte(0x02);      // a miner's hotkey
  SigningKey validator = KeyFromByte(0x03);  // a validator's hotkey
  SigningKey chain = KeyFromByte(0x04);      // the chain node's key
};
const Keys& K() {
  static const Keys* keys = new Keys();
  return *keys;
}

// ---- vectors --------------------------------------------------------------

// Decodes (and verifies) the bytes of a vector as read from the file and
// returns their re-encoding, which must equal them.
using Reencode = std::function<absl::StatusOr<std::string>(absl::string_view)>;

struct Vector {
  std::string name;
  std::string bytes;
  Reencode reencode;  // null: not msgpack (a hash); compared only
};

template <typename T>
Reencode ReencodeAs(std::string name) {
  return [name](absl::string_view b) -> absl::StatusOr<std::string> {
    absl::StatusOr<T> v = Decode<T>(b, name);
    if (!v.ok()) return v.status();
    return Encode(*v);
  };
}

template <typename T>
Vector Msg(std::string name, const T& value) {
  Reencode r = ReencodeAs<T>(name);
  return Vector{std::move(name), Encode(value), std::move(r)};
}

// A whole sealed envelope with a body of type T. Decoding opens it (signature,
// body hash, receiver, clock at its own timestamp), checks the signer,
// decodes the body and seals it again: ed25519 is deterministic.
template <typename T>
Vector Envelope(std::string name, const SigningKey& from, const protocol::SealParams& params,
                const T& body) {
  const SigningKey* key = &from;
  Reencode r = [name, key](absl::string_view b) -> absl::StatusOr<std::string> {
    absl::StatusOr<protocol::EnvelopeHeader> peek = protocol::PeekHeader(b);
    if (!peek.ok()) return peek.status();
    protocol::OpenContext ctx;
    ctx.self = peek->receiver;
    ctx.now_ms = peek->timestamp_ms;
    absl::StatusOr<protocol::OpenedEnvelope> opened = protocol::OpenEnvelope(b, ctx);
    if (!opened.ok()) return opened.status();
    if (opened->header.sender != key->public_key()) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": signed by another key"));
    }
    absl::StatusOr<T> decoded = Decode<T>(opened->body, name);
    if (!decoded.ok()) return decoded.status();
    protocol::SealParams p;
    p.receiver = opened->header.receiver;
    p.kind = opened->header.kind;
    p.nonce = opened->header.nonce;
    p.timestamp_ms = opened->header.timestamp_ms;
    p.request_hash = opened->header.request_hash;
    return protocol::SealEnvelope(*key, p, Encode(*decoded));
  };
  return Vector{std::move(name), protocol::SealEnvelope(from, params, Encode(body)), std::move(r)};
}

Vector Raw(std::string name, const Hash256& h) {
  return Vector{std::move(name), std::string(AsStringView(h)), nullptr};
}

// tx.<name>.payload, .body, .signed (SignedTx) and .tx_hash of one transaction.
template <typename P>
void AddTx(std::vector<Vector>& out, const std::string& name, const char* type,
           const SigningKey& signer, uint64_t nonce, const P& payload) {
  const chain::SignedTx tx = chain::MakeTx(signer, kChainId, type, nonce, payload);
  const std::string prefix = absl::StrCat("tx.", name);
  out.push_back(Msg(prefix + ".payload", payload));
  out.push_back(Vector{prefix + ".body", tx.body, ReencodeAs<chain::TxBody>(prefix + ".body")});
  Reencode signed_reencode = [type, payload](absl::string_view b) -> absl::StatusOr<std::string> {
    absl::StatusOr<chain::SignedTx> decoded = chain::DecodeSignedTx(b);
    if (!decoded.ok()) return decoded.status();
    absl::StatusOr<chain::TxBody> body = chain::VerifyTx(*decoded);
    if (!body.ok()) return body.status();
    if (body->type != type || body->chain_id != kChainId) {
      return absl::InvalidArgumentError(absl::StrCat("tx.type ", body->type, ", expected ", type));
    }
    absl::StatusOr<P> p = Decode<P>(body->payload, type);
    if (!p.ok()) return p.status();
    if (Encode(*p) != Encode(payload)) return absl::InvalidArgumentError("payload differs");
    return Encode(*decoded);
  };
  out.push_back(Vector{prefix + ".signed", Encode(tx), std::move(signed_reencode)});
  out.push_back(Raw(prefix + ".tx_hash", chain::TxHash(tx)));
}

protocol::SealParams Params(const SigningKey& to, MessageKind kind, uint64_t nonce,
                            uint64_t timestamp_ms, const Hash256& request_hash = {}) {
  protocol::SealParams p;
  p.receiver = to.public_key();
  p.kind = kind;
  p.nonce = nonce;
  p.timestamp_ms = timestamp_ms;
  p.request_hash = request_hash;
  return p;
}

// Every vector, in file order.
std::vector<Vector> AllVectors() {
  const Keys& k = K();
  std::vector<Vector> v;

  // Whole envelopes: a validator pings a miner; the miner's pong and an error reply to it.
  const protocol::Ping ping{1, "hi"};
  v.push_back(Envelope("envelope.ping", k.validator,
                       Params(k.miner, MessageKind::kPing, kNonce, kTimestampMs), ping));
  const Hash256 ping_hash = protocol::EnvelopeHash(v.back().bytes);
  v.push_back(Envelope("envelope.pong", k.miner,
                       Params(k.validator, MessageKind::kPong, kNonce + 7, kTimestampMs + 2,
                              ping_hash),
                       protocol::Pong{1, "hi"}));
  v.push_back(Envelope("envelope.error", k.miner,
                       Params(k.validator, MessageKind::kError, kNonce + 8, kTimestampMs + 3,
                              ping_hash),
                       protocol::ErrorReply{"unknown-kind", "no handler for kind 2"}));

  // A transaction submitted to the chain: the envelope is signed by whatever
  // transport key the client holds (here the coldkey's), the transfer inside
  // it by the coldkey.
  v.push_back(Envelope("envelope.tx_submit", k.coldkey,
                       Params(k.chain, MessageKind::kTxSubmit, kNonce, kTimestampMs),
                       chain::TxSubmit{Encode(chain::MakeTx(
                           k.coldkey, kChainId, chain::kTxTransfer, 0,
                           chain::TransferTx{k.validator.public_key(), 1'500'000'000}))}));

  // Transport bodies.
  v.push_back(Msg("error_reply.bad_request",
                  protocol::ErrorReply{"bad-request", "top_k: 2000; limit 1024"}));
  v.push_back(Msg("error_reply.tx_reject",
                  protocol::ErrorReply{"bad-request", "bad-nonce: tx.nonce 5, account expects 4"}));
  v.push_back(Msg("error_reply.internal", protocol::ErrorReply{"internal", ""}));
  v.push_back(Msg("ping", protocol::Ping{1, "hi"}));
  v.push_back(Msg("ping.binary_payload", protocol::Ping{300, std::string("\x00\xff\xfe", 3)}));
  v.push_back(Msg("pong", protocol::Pong{UINT64_MAX, ""}));
  v.push_back(Msg("info_request", protocol::InfoRequest{0}));
  v.push_back(Msg("info_reply", protocol::InfoReply{"miner", "0.1.0", 1,
                                                    ToHex(Filled(0xab))}));

  // Task bodies.
  v.push_back(Msg("predict_request", protocol::PredictRequest{{{1, 2, 3}, {300, 70000}}, 0}));
  v.push_back(Msg("predict_request.top_k", protocol::PredictRequest{{{5}}, 2}));
  {
    protocol::PredictReply full;
    full.model_hash = Filled(0xab);
    full.vocab_size = 4;
    full.distributions = {protocol::TokenDistribution{{}, {0.5f, 0.25f, 0.125f, 0.125f}, 0.0f},
                          protocol::TokenDistribution{{}, {1.0f, 0.0f, 0.0f, 0.0f}, 0.0f}};
    full.compute_us = 1234;
    v.push_back(Msg("predict_reply.full", full));
    protocol::PredictReply topk;
    topk.model_hash = Filled(0xab);
    topk.vocab_size = 50000;
    topk.distributions = {protocol::TokenDistribution{{7, 40000}, {0.5f, 0.1f}, 0.4f}};
    topk.compute_us = 70000;
    v.push_back(Msg("predict_reply.top_k", topk));
  }
  {
    protocol::GenerateRequest text;  // the defaults: temperature 1.0 and top_p 1.0 travel as 1
    text.prompt = "Hello";
    v.push_back(Msg("generate_request.prompt", text));
    protocol::GenerateRequest tokens;
    tokens.prompt_tokens = {1, 2, 3};
    tokens.max_tokens = 16;
    tokens.temperature = 0.7f;
    tokens.top_k = 40;
    tokens.top_p = 0.9f;
    tokens.seed = 42;
    tokens.stop = {"\n", "END"};
    tokens.stream = true;
    v.push_back(Msg("generate_request.tokens", tokens));
    protocol::GenerateReply reply;
    reply.model_hash = Filled(0xab);
    reply.vocab_size = 256;
    reply.prompt_tokens = 5;
    reply.tokens = {32, 119};
    reply.text = " w";
    reply.logprobs = {-2.0f, -0.1f};
    reply.finish_reason = "length";
    reply.first_token_us = 1500;
    reply.total_us = 2900;
    v.push_back(Msg("generate_reply", reply));
    v.push_back(Msg("generate_chunk", protocol::GenerateChunk{0, {32}, " ", {-2.0f}, false, "",
                                                              1500}));
    v.push_back(Msg("generate_chunk.last",
                    protocol::GenerateChunk{1, {119}, "w", {-0.1f}, true, "length", 2900}));
  }
  {
    protocol::ModelFetchRequest fetch;
    fetch.content_hash = Filled(0xab);
    fetch.offset = 1u << 20;
    fetch.length = protocol::kMaxModelChunk;
    v.push_back(Msg("model_fetch_request", fetch));
    protocol::ModelFetchReply piece;
    piece.content_hash = Filled(0xab);
    piece.total_size = 1048581;
    piece.offset = 1u << 20;
    piece.data = std::string("\x00\x01\xfe\xff\n", 5);
    v.push_back(Msg("model_fetch_reply", piece));
    protocol::ModelPackage package;
    package.format = "agora-gpt";
    package.files = {{"config.json", "{}"}, {"weights.pt", std::string("\x80\x02", 2)}};
    v.push_back(Msg("model_package", package));
  }

  // Float rules on their own: 1.0 is the integer 1, 0.5 is float32 (ca 3f000000).
  v.push_back(Msg("float.whole_is_int", protocol::TokenDistribution{{}, {1.0f}, 0.0f}));
  v.push_back(Msg("float.half_is_float32", protocol::TokenDistribution{{}, {0.5f}, 0.0f}));
  v.push_back(Msg("float.negative_whole", protocol::TokenDistribution{{}, {-3.0f}, 200.0f}));

  // Transactions: payload, TxBody, SignedTx and tx hash of each type.
  AddTx(v, "transfer", chain::kTxTransfer, k.coldkey, 0,
        chain::TransferTx{k.validator.public_key(), 1'500'000'000});
  AddTx(v, "register", chain::kTxRegister, k.coldkey, 1,
        chain::RegisterTx{1, k.miner.public_key(), false, 2'000'000'000, 0, 0});
  AddTx(v, "register_pow", chain::kTxRegister, k.coldkey, 2,
        chain::RegisterTx{1, k.validator.public_key(), true, 0, 7, 12345});
  AddTx(v, "add_stake", chain::kTxAddStake, k.coldkey, 3,
        chain::StakeTx{k.miner.public_key(), 10'000'000'000});
  AddTx(v, "remove_stake", chain::kTxRemoveStake, k.coldkey, 4,
        chain::StakeTx{k.miner.public_key(), 1});
  AddTx(v, "serve_axon", chain::kTxServeAxon, k.miner, 0,
        chain::ServeAxonTx{1, "tcp://127.0.0.1:40123", 1});
  AddTx(v, "set_weights", chain::kTxSetWeights, k.validator, 0,
        chain::SetWeightsTx{1, {0, 1, 300}, {65535, 100, 0}, 0});
  const chain::RevealWeightsTx reveal{1, {0, 1}, {40000, 25535}, std::string("\x00\x01\xfe\xff", 4), 3};
  const Hash256 commit = chain::WeightsCommitHash(k.validator.public_key(), reveal.netuid,
                                                  reveal.uids, reveal.weights, reveal.salt,
                                                  reveal.version_key);
  AddTx(v, "commit_weights", chain::kTxCommitWeights, k.validator, 1,
        chain::CommitWeightsTx{1, commit});
  AddTx(v, "reveal_weights", chain::kTxRevealWeights, k.validator, 2, reveal);
  AddTx(v, "register_model", chain::kTxRegisterModel, k.miner, 1,
        chain::RegisterModelTx{1, Filled(0xab), 52'428'800, chain::kModelFormatAgoraGpt,
                               Filled(0xcd)});
  // The commitment above, and a registration's proof-of-work hash.
  v.push_back(Raw("hash.commit_weights", commit));
  v.push_back(Raw("hash.pow", chain::PowHash(1, k.validator.public_key(), k.coldkey.public_key(),
                                             Filled(0x77), 12345)));
  // The CURVE server key a client derives from the miner's hotkey.
  v.push_back(Raw("curve.miner", *Ed25519ToCurvePublic(k.miner.public_key())));

  // Chain bodies.
  const chain::SignedTx transfer = chain::MakeTx(
      k.coldkey, kChainId, chain::kTxTransfer, 0,
      chain::TransferTx{k.validator.public_key(), 1'500'000'000});
  const chain::SignedTx stake = chain::MakeTx(k.coldkey, kChainId, chain::kTxAddStake, 3,
                                              chain::StakeTx{k.miner.public_key(), 10'000'000'000});
  v.push_back(Msg("tx_submit", chain::TxSubmit{Encode(transfer)}));
  v.push_back(Msg("tx_receipt", chain::TxReceiptMsg{chain::TxHash(transfer), 12, 0}));
  v.push_back(Msg("tx_lookup", chain::TxLookup{chain::TxHash(transfer)}));
  v.push_back(Msg("tx_lookup_reply", chain::TxLookupReply{true, 12, 0}));
  v.push_back(Msg("tx_lookup_reply.not_found", chain::TxLookupReply{false, 0, 0}));
  v.push_back(Msg("block_txs_request", chain::BlockTxsRequest{12, 0}));
  v.push_back(Msg("block_txs", chain::BlockTxs{12, Filled(0xb1), kTimestampMs, 2, 0,
                                               {Encode(transfer), Encode(stake)}}));
  v.push_back(Msg("chain_status_request", chain::ChainStatusRequest{0}));
  v.push_back(Msg("chain_status",
                  chain::ChainStatus{kChainId, Filled(0x9e), 12, Filled(0xb1), kTimestampMs, 1000,
                                     21'000'000'000, "tcp://127.0.0.1:40124", {1}}));
  v.push_back(Msg("account_request", chain::AccountRequest{k.coldkey.public_key()}));
  v.push_back(Msg("account_info",
                  chain::AccountInfo{88'500'000'000, 5,
                                     {chain::StakeEntry{k.miner.public_key(),
                                                        k.coldkey.public_key(), 10'000'000'000}},
                                     12}));
  v.push_back(Msg("metagraph_request", chain::MetagraphRequest{1, false, true}));
  {
    chain::NeuronInfo n;
    n.uid = 0;
    n.hotkey = k.miner.public_key();
    n.coldkey = k.coldkey.public_key();
    n.stake = 10'000'000'000;
    n.axon_endpoint = "tcp://127.0.0.1:40123";
    n.axon_version = 1;
    n.active = true;
    n.validator_permit = true;
    n.stake_weight = 65535;
    n.rank = 32768;
    n.consensus = 32768;
    n.validator_trust = 65535;
    n.incentive = 32768;
    n.dividends = 65535;
    n.emission = 4'413'000'000;
    n.registered_at = 3;
    n.last_update = 11;
    n.pending_commits = 0;
    n.weights = {{0, 65535}, {1, 100}};
    n.model = chain::ModelRegistration{Filled(0xab), 52'428'800, chain::kModelFormatAgoraGpt,
                                       Filled(0xcd), 5};
    chain::Metagraph mg;
    mg.netuid = 1;
    mg.name = "text";
    mg.block = 12;
    mg.params = chain::SubnetParams{};  // the defaults
    mg.epoch_index = 1;
    mg.last_epoch_block = 10;
    mg.pending_emission = 1'640'000'000;
    mg.n = 2;
    mg.neurons = {n};
    v.push_back(Msg("metagraph", mg));
  }
  v.push_back(Msg("block_event", chain::BlockEvent{12, Filled(0xb1), kTimestampMs, 2,
                                                   {chain::EpochEvent{1, 1, 8'826'000'000}}}));
  return v;
}

// ---- the file -------------------------------------------------------------

constexpr char kHeader[] =
    "# Agora wire test vectors: `name hex` per line. Generated by\n"
    "# tests/protocol/wire_vectors_test.cc (AGORA_WRITE_VECTORS=1 rewrites this file);\n"
    "# docs/PROTOCOL.md \"Test vectors\" says what each holds. Do not edit by hand.\n"
    "#\n"
    "# Keys: ed25519 from 32-byte seeds of one repeated byte: 01 coldkey (an account),\n"
    "# 02 miner hotkey, 03 validator hotkey, 04 chain node. chain_id \"agora-devnet\".\n"
    "# Envelopes: nonce 1700000000000000, timestamp_ms 1700000000000 (pong +7/+2, error +8/+3).\n"
    "# envelope.*: the whole frame; hash.*, curve.* and *.tx_hash: 32 raw bytes; everything else:\n"
    "# the msgpack body (tx.*.payload, tx.*.body = TxBody, tx.*.signed = SignedTx).\n";

std::string FilePath() { return AGORA_WIRE_VECTORS_FILE; }

bool WriteMode() {
  const char* env = std::getenv("AGORA_WRITE_VECTORS");
  return env != nullptr && std::string(env) == "1";
}

struct FileEntry {
  std::string name;
  std::string bytes;
};

std::vector<FileEntry> ReadFile() {
  std::vector<FileEntry> out;
  std::ifstream in(FilePath());
  EXPECT_TRUE(in.good()) << "cannot read " << FilePath();
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string name, hex, extra;
    fields >> name >> hex;
    if (name.empty() || hex.empty() || (fields >> extra)) {
      ADD_FAILURE() << FilePath() << ":" << lineno << ": expected `name hex`";
      continue;
    }
    absl::StatusOr<std::string> bytes = FromHex(hex);
    if (!bytes.ok()) {
      ADD_FAILURE() << FilePath() << ":" << lineno << ": " << bytes.status();
      continue;
    }
    out.push_back(FileEntry{name, *bytes});
  }
  return out;
}

void WriteFile(const std::vector<Vector>& vectors) {
  std::ofstream out(FilePath(), std::ios::trunc);
  ASSERT_TRUE(out.good()) << "cannot write " << FilePath();
  out << kHeader;
  for (const Vector& v : vectors) out << v.name << " " << ToHex(AsBytes(v.bytes)) << "\n";
  out.close();
  ASSERT_TRUE(out.good()) << "writing " << FilePath() << " failed";
}

TEST(WireVectorsTest, NamesAreUnique) {
  std::set<std::string> names;
  for (const Vector& v : AllVectors()) EXPECT_TRUE(names.insert(v.name).second) << v.name;
}

// The code's encodings equal the file's (or, with AGORA_WRITE_VECTORS=1, become it).
TEST(WireVectorsTest, EncodingsMatchTheFile) {
  const std::vector<Vector> vectors = AllVectors();
  if (WriteMode()) {
    WriteFile(vectors);
    std::printf("wrote %zu vectors to %s\n", vectors.size(), FilePath().c_str());
    return;
  }
  std::map<std::string, std::string> file;
  for (FileEntry& e : ReadFile()) {
    EXPECT_TRUE(file.emplace(e.name, std::move(e.bytes)).second) << "duplicate " << e.name;
  }
  for (const Vector& v : vectors) {
    auto it = file.find(v.name);
    if (it == file.end()) {
      ADD_FAILURE() << v.name << " is missing from the file (AGORA_WRITE_VECTORS=1 adds it)";
      continue;
    }
    EXPECT_EQ(ToHex(AsBytes(it->second)), ToHex(AsBytes(v.bytes))) << v.name;
    file.erase(it);
  }
  for (const auto& [name, bytes] : file) ADD_FAILURE() << name << ": in the file, not in the code";
}

// Each vector of the file decodes (envelopes open, transactions verify) and
// re-encodes to exactly its bytes.
TEST(WireVectorsTest, FileVectorsDecodeAndRoundTrip) {
  std::map<std::string, Reencode> decoders;
  for (Vector& v : AllVectors()) decoders.emplace(v.name, std::move(v.reencode));
  const std::vector<FileEntry> file = ReadFile();
  ASSERT_FALSE(file.empty());
  for (const FileEntry& e : file) {
    auto it = decoders.find(e.name);
    if (it == decoders.end()) continue;  // reported by EncodingsMatchTheFile
    if (!it->second) {
      EXPECT_EQ(e.bytes.size(), kHashBytes) << e.name;
      continue;
    }
    absl::StatusOr<std::string> again = it->second(e.bytes);
    ASSERT_TRUE(again.ok()) << e.name << ": " << again.status();
    EXPECT_EQ(ToHex(AsBytes(*again)), ToHex(AsBytes(e.bytes))) << e.name;
  }
}

// ---- the float and integer rules, independent of the file ----------------

std::string Hex(absl::string_view s) { return ToHex(AsBytes(s)); }
std::string Unhex(absl::string_view hex) { return *FromHex(hex); }

// `bytes` with the single occurrence of `from` replaced by `to`.
std::string ReplaceOnce(const std::string& bytes, const std::string& from, const std::string& to) {
  const size_t at = bytes.find(from);
  EXPECT_NE(at, std::string::npos) << Hex(from) << " not in " << Hex(bytes);
  EXPECT_EQ(bytes.find(from, at + 1), std::string::npos) << Hex(from) << " twice in " << Hex(bytes);
  if (at == std::string::npos) return bytes;
  return bytes.substr(0, at) + to + bytes.substr(at + from.size());
}

TEST(WireVectorsTest, WholeFloatsAreIntegersOthersFloat32) {
  // {"tokens": [], "probs": [1.0], "rest": 0.0}
  EXPECT_EQ(Hex(Encode(protocol::TokenDistribution{{}, {1.0f}, 0.0f})),
            "83a6746f6b656e7390a570726f62739101a47265737400");
  // {"tokens": [], "probs": [0.5], "rest": 0.0}: 0.5 is float32 ca 3f000000.
  EXPECT_EQ(Hex(Encode(protocol::TokenDistribution{{}, {0.5f}, 0.0f})),
            "83a6746f6b656e7390a570726f627391ca3f000000a47265737400");
  // -3.0 is negative fixint fd; 200.0 is uint8 cc c8; -0.0 is 0.
  EXPECT_EQ(Hex(Encode(protocol::TokenDistribution{{}, {-3.0f, -0.0f}, 200.0f})),
            "83a6746f6b656e7390a570726f627392fd00a472657374ccc8");
}

TEST(WireVectorsTest, SixtyFourBitFloatsAreRefused) {
  using protocol::TokenDistribution;
  const std::string half = Encode(TokenDistribution{{}, {0.5f}, 0.0f});
  const std::string one = Encode(TokenDistribution{{}, {1.0f}, 0.0f});
  // 0.5 as float64 (what a default encoder sends), 1.0 as float64 and as float32.
  const std::string half64 = ReplaceOnce(half, Unhex("ca3f000000"), Unhex("cb3fe0000000000000"));
  const std::string one64 = ReplaceOnce(one, Unhex("9101"), Unhex("91cb3ff0000000000000"));
  const std::string one32 = ReplaceOnce(one, Unhex("9101"), Unhex("91ca3f800000"));
  for (const std::string& bad : {half64, one64, one32}) {
    absl::StatusOr<TokenDistribution> d = Decode<TokenDistribution>(bad, "TokenDistribution");
    EXPECT_FALSE(d.ok()) << Hex(bad);
    if (!d.ok()) {
      EXPECT_NE(d.status().message().find("not the canonical encoding"), absl::string_view::npos)
          << d.status();
    }
  }
  // A sampling parameter: temperature 0.7 as float64 instead of float32.
  protocol::GenerateRequest req;
  req.prompt = "x";
  req.temperature = 0.7f;
  const std::string good = Encode(req);
  ASSERT_TRUE(Decode<protocol::GenerateRequest>(good, "GenerateRequest").ok());
  const std::string bad = ReplaceOnce(good, Unhex("ca3f333333"), Unhex("cb3fe6666666666666"));
  EXPECT_FALSE(Decode<protocol::GenerateRequest>(bad, "GenerateRequest").ok());
  // The float64 nearest to float32 0.7 is refused as well: the width alone decides.
  const std::string bad2 = ReplaceOnce(good, Unhex("ca3f333333"), Unhex("cb3fe6666660000000"));
  EXPECT_FALSE(Decode<protocol::GenerateRequest>(bad2, "GenerateRequest").ok());
}

TEST(WireVectorsTest, NonFiniteFloatsAreFloat32) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::string bytes = Encode(protocol::TokenDistribution{{}, {inf, -inf}, nan});
  EXPECT_EQ(Hex(bytes), "83a6746f6b656e7390a570726f627392ca7f800000caff800000a472657374ca7fc00000");
  EXPECT_TRUE(Decode<protocol::TokenDistribution>(bytes, "TokenDistribution").ok());
  // A signalling NaN comes back quiet, so its encoding is refused.
  EXPECT_FALSE(Decode<protocol::TokenDistribution>(
                   ReplaceOnce(bytes, Unhex("ca7fc00000"), Unhex("ca7f800001")), "TokenDistribution")
                   .ok());
}

TEST(WireVectorsTest, LargeWholeFloatsAreIntegers) {
  // 1e10 is a whole float32: uint64 cf 00000002540be400. -2.0 is fe.
  EXPECT_EQ(Hex(Encode(protocol::TokenDistribution{{}, {1e10f, -2.0f}, 0.0f})),
            "83a6746f6b656e7390a570726f627392cf00000002540be400fea47265737400");
  // 16777217 is no float32: as an integer in a float field it is refused.
  const std::string one = Encode(protocol::TokenDistribution{{}, {1.0f}, 0.0f});
  EXPECT_FALSE(Decode<protocol::TokenDistribution>(
                   ReplaceOnce(one, Unhex("9101"), Unhex("91ce01000001")), "TokenDistribution")
                   .ok());
  // 16777216 is one: accepted.
  EXPECT_TRUE(Decode<protocol::TokenDistribution>(
                  ReplaceOnce(one, Unhex("9101"), Unhex("91ce01000000")), "TokenDistribution")
                  .ok());
}

TEST(WireVectorsTest, IntegersMustBeMinimalAndFitTheField) {
  // {"detail": 0} with 0 as uint8 cc 00 instead of fixint 00.
  const std::string info = Encode(protocol::InfoRequest{0});
  EXPECT_EQ(Hex(info), "81a664657461696c00");
  EXPECT_FALSE(Decode<protocol::InfoRequest>(ReplaceOnce(info, Unhex("6c00"), Unhex("6ccc00")),
                                             "InfoRequest")
                   .ok());
  // A negative number, and 2^32, in a uint32 field.
  EXPECT_FALSE(Decode<protocol::InfoRequest>(ReplaceOnce(info, Unhex("6c00"), Unhex("6cff")),
                                             "InfoRequest")
                   .ok());
  EXPECT_FALSE(Decode<protocol::InfoRequest>(
                   ReplaceOnce(info, Unhex("6c00"), Unhex("6ccf0000000100000000")), "InfoRequest")
                   .ok());
  // A uid of 70000 (uint16 field).
  const std::string w = Encode(chain::SetWeightsTx{1, {1}, {2}, 0});
  EXPECT_FALSE(
      Decode<chain::SetWeightsTx>(ReplaceOnce(w, Unhex("739101"), Unhex("7391ce00011170")),
                                  "set_weights")
          .ok());
}

TEST(WireVectorsTest, StrAndBinAreNotInterchangeable) {
  // TxSubmit.tx is str (here holding non-UTF-8 bytes); as bin it is refused.
  const std::string tx(std::string("\x82\xc4\xff", 3));
  const std::string submit = Encode(chain::TxSubmit{tx});
  EXPECT_EQ(Hex(submit), "81a27478a382c4ff");
  ASSERT_TRUE(Decode<chain::TxSubmit>(submit, "TxSubmit").ok());
  EXPECT_FALSE(
      Decode<chain::TxSubmit>(ReplaceOnce(submit, Unhex("a3"), Unhex("c403")), "TxSubmit").ok());
  // TxLookup.tx_hash is bin 32; as str 32 (d9 20), or as bin of another length, it is refused.
  const std::string lookup = Encode(chain::TxLookup{Filled(0x5a)});
  EXPECT_EQ(Hex(lookup).substr(0, 22), "81a774785f68617368c420");
  EXPECT_FALSE(
      Decode<chain::TxLookup>(ReplaceOnce(lookup, Unhex("c420"), Unhex("d920")), "TxLookup").ok());
  EXPECT_FALSE(Decode<chain::TxLookup>(
                   ReplaceOnce(lookup, Unhex("c4205a"), Unhex("c41f")), "TxLookup")
                   .ok());
}

// A key field given as a str shorter than the key: msgpack-c's own decoder
// copied 32 bytes from it, reading past the end of the sender's bytes. The
// project's decoder (common/msgpack.h) takes only a bin of exactly the size.
TEST(WireVectorsTest, FixedSizeBytesTakeOnlyABinOfThatSize) {
  const std::string lookup = Encode(chain::TxLookup{Filled(0x5a)});
  const std::string head = lookup.substr(0, lookup.find(Unhex("c420")));
  for (const std::string& field : {Unhex("a15a"), Unhex("c4015a"), std::string(Unhex("d91f")) + std::string(31, 'Z'),
                                   std::string(Unhex("c421")) + std::string(33, 'Z')}) {
    absl::StatusOr<chain::TxLookup> d = Decode<chain::TxLookup>(head + field, "TxLookup");
    EXPECT_FALSE(d.ok()) << Hex(field);
  }
  for (const size_t n : {size_t{0}, size_t{1}, size_t{31}, size_t{32}}) {
    const std::string text(n, 'k');
    msgpack::object str;
    str.type = msgpack::type::STR;
    str.via.str.ptr = text.data();
    str.via.str.size = static_cast<uint32_t>(n);
    PublicKey key{};
    EXPECT_THROW(str.convert(key), msgpack::type_error) << "str of " << n;
    msgpack::object bin = str;
    bin.type = msgpack::type::BIN;
    bin.via.bin.ptr = text.data();
    bin.via.bin.size = static_cast<uint32_t>(n);
    if (n == key.size()) {
      EXPECT_NO_THROW(bin.convert(key));
    } else {
      EXPECT_THROW(bin.convert(key), msgpack::type_error) << "bin of " << n;
    }
    Signature sig{};
    EXPECT_THROW(str.convert(sig), msgpack::type_error) << "str of " << n;
  }
}

TEST(WireVectorsTest, FieldsAreAMapInDeclarationOrder) {
  // {"payload": "hi", "seq": 1}: the right fields in another order.
  EXPECT_FALSE(Decode<protocol::Ping>(Unhex("82a77061796c6f6164a26869a373657101"), "Ping").ok());
  // As an array [1, "hi"] (MSGPACK_DEFINE's form, not ours).
  EXPECT_FALSE(Decode<protocol::Ping>(Unhex("9201a26869"), "Ping").ok());
  // A missing field, and an extra one.
  EXPECT_FALSE(Decode<protocol::Ping>(Unhex("81a373657101"), "Ping").ok());
  EXPECT_FALSE(
      Decode<protocol::Ping>(Unhex("83a373657101a77061796c6f6164a26869a178c0"), "Ping").ok());
  EXPECT_TRUE(Decode<protocol::Ping>(Unhex("82a373657101a77061796c6f6164a26869"), "Ping").ok());
}

// Refusals on the wire: what SealRefusal puts in the ErrorReply body.
TEST(WireVectorsTest, RefusalBodies) {
  protocol::NonceGenerator nonces;
  const Keys& k = K();
  auto body_of = [&](const absl::Status& status) {
    const std::string env = protocol::SealRefusal(k.miner, nonces, k.validator.public_key(),
                                                  Filled(0x33), status, kTimestampMs);
    protocol::OpenContext ctx;
    ctx.self = k.validator.public_key();
    ctx.now_ms = kTimestampMs;
    absl::StatusOr<protocol::OpenedEnvelope> opened = protocol::OpenEnvelope(env, ctx);
    EXPECT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(opened->header.kind, MessageKind::kError);
    EXPECT_EQ(opened->header.request_hash, Filled(0x33));
    return std::string(opened->body);
  };
  const std::map<std::string, std::string> file = [] {
    std::map<std::string, std::string> m;
    for (FileEntry& e : ReadFile()) m.emplace(e.name, std::move(e.bytes));
    return m;
  }();
  // A handler's refusal: "<reason>: " is stripped from the detail.
  EXPECT_EQ(Hex(body_of(protocol::Refuse(protocol::Reason::kBadRequest, "top_k: 2000; limit 1024"))),
            Hex(file.at("error_reply.bad_request")));
  // A chain refusal: reason bad-request, detail "<tx reason>: <detail>".
  EXPECT_EQ(Hex(body_of(chain::Reject(chain::TxReject::kBadNonce, "tx.nonce 5, account expects 4"))),
            Hex(file.at("error_reply.tx_reject")));
  // An internal failure: no detail leaves the node.
  EXPECT_EQ(Hex(body_of(absl::InternalError("disk on fire"))), Hex(file.at("error_reply.internal")));
}

}  // namespace
}  // namespace agora
