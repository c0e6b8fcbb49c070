// miner_integration_test: a real devnet in miniature. Starts `agora-chain run`
// with a genesis that funds the miner's and the validator's coldkeys, trains a
// tiny model with `agora-train`, and starts `agora-miner --register` on it.
// Then a registered validator hotkey sends signed predict and generate
// requests with protocol::Client: good requests get answers carrying the
// model's hash, bad ones get a reason while the miner keeps serving, an
// unregistered key is refused as "unregistered", /metrics counts it all,
// and SIGTERM makes the miner drain and exit 0. Every step is logged.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "chain/client.h"
#include "chain/tx.h"
#include "common/address.h"
#include "common/clock.h"
#include "common/file_util.h"
#include "common/wallet.h"
#include "gtest/gtest.h"
#include "tests/integration/transport_test_util.h"
#include "protocol/codec.h"
#include "protocol/envelope.h"
#include "protocol/messages.h"
#include "protocol/nonce.h"
#include "protocol/refusal.h"
#include "protocol/task_messages.h"
#include "protocol/zmq_client.h"
#include "tests/common/child_process.h"
#include "tests/common/temp_dir.h"

namespace agora {
namespace {

using Clock = std::chrono::steady_clock;
using testing::Process;
using testing::WaitForFile;
using protocol::MessageKind;
using protocol::Reason;

void Log(const std::string& line) { std::fprintf(stderr, "[miner_it] %s\n", line.c_str()); }

SigningKey KeyFor(const std::string& name) {
  absl::StatusOr<SigningKey> k = SigningKey::FromSeed(Blake2b256("agora-miner-it:" + name));
  if (!k.ok()) std::abort();
  return std::move(*k);
}

TEST(MinerIntegrationTest, ServesRegisteredValidatorsAndRefusesTheRest) {
  testing::TempDir tmp;
  const std::string password = "miner-it-password";
  ASSERT_TRUE(WriteFileAtomic(tmp.Sub("password"), password + "\n").ok());

  Log("creating the miner's wallet");
  const WalletStore store(tmp.Sub("wallets"));
  SecretBytes pw(password.size());
  std::memcpy(pw.data(), password.data(), password.size());
  absl::StatusOr<WalletInfo> wallet = store.Create("miner", "default", pw, kMinKdfParams);
  ASSERT_TRUE(wallet.ok()) << wallet.status();
  const PublicKey miner_coldkey = *wallet->coldkey.public_key;
  const PublicKey miner_hotkey = *wallet->hotkeys.at(0).public_key;
  const SigningKey owner = KeyFor("owner");
  const SigningKey vali_cold = KeyFor("validator-cold");
  auto vali_hot = std::make_shared<const SigningKey>(KeyFor("validator-hot"));
  auto stranger = std::make_shared<const SigningKey>(KeyFor("stranger"));

  Log("writing genesis and starting agora-chain");
  const std::string genesis = absl::StrCat(
      "chain_id = \"miner-it\"\nblock_interval_ms = 100\n",
      "[[accounts]]\naddress = \"", EncodeAddress(owner.public_key()), "\"\nbalance = 1000000000000\n",
      "[[accounts]]\naddress = \"", EncodeAddress(miner_coldkey), "\"\nbalance = 100000000000\n",
      "[[accounts]]\naddress = \"", EncodeAddress(vali_cold.public_key()), "\"\nbalance = 100000000000\n",
      "[[subnets]]\nnetuid = 1\nname = \"it\"\nowner = \"", EncodeAddress(owner.public_key()), "\"\n",
      "[subnets.params]\nburn = 1000000000\nmin_burn = 1000000\nmax_burn = 10000000000\n"
      "serving_rate_limit = 0\nmax_regs_per_block = 10\n");
  ASSERT_TRUE(WriteFileAtomic(tmp.Sub("genesis.toml"), genesis, 0644).ok());
  std::filesystem::create_directories(tmp.Sub("chain"));
  Process chain({AGORA_CHAIN_BINARY, "run", "--genesis=" + tmp.Sub("genesis.toml"),
                 "--data-dir=" + tmp.Sub("chain"), "--endpoint=tcp://127.0.0.1:*",
                 "--events-endpoint=tcp://127.0.0.1:*", "--block-interval-ms=100"},
                tmp.Sub("chain.log"));
  chain.Start();
  absl::StatusOr<std::string> url = WaitForFile(tmp.Sub("chain/chain.url"), chain, std::chrono::seconds(30));
  ASSERT_TRUE(url.ok()) << url.status();
  Log("chain at " + std::string(absl::StripAsciiWhitespace(*url)));

  Log("registering the validator hotkey");
  auto client = chain::ChainClient::Connect(absl::StripAsciiWhitespace(*url));
  ASSERT_TRUE(client.ok()) << client.status();
  chain::RegisterTx reg;
  reg.netuid = 1;
  reg.hotkey = vali_hot->public_key();
  reg.max_burn = 10'000'000'000;
  absl::StatusOr<chain::TxReceiptMsg> receipt = (*client)->SendWhenAllowed(vali_cold, chain::kTxRegister, reg);
  ASSERT_TRUE(receipt.ok()) << receipt.status();

  Log("training a tiny model with agora-train");
  std::string corpus;
  for (int i = 0; i < 100; ++i) corpus += "to be or not to be, that is the question.\n";
  ASSERT_TRUE(WriteFileAtomic(tmp.Sub("corpus.txt"), corpus, 0644).ok());
  Process train({AGORA_TRAIN_BINARY, "--corpus", tmp.Sub("corpus.txt"), "--out", tmp.Sub("model"),
                 "--layers", "1", "--dim", "32", "--heads", "2", "--context", "32", "--steps", "20",
                 "--batch", "4", "--seed", "3", "--quiet", "--cpu"},
                tmp.Sub("train.log"));
  train.Start();
  ASSERT_EQ(train.Wait(std::chrono::seconds(120)), 0) << train.LogText();
  Log("trained: " + train.LogText());

  Log("starting agora-miner --register");
  const std::string config = absl::StrCat(
      "wallet_dir = \"", tmp.Sub("wallets"), "\"\nwallet = \"miner\"\nhotkey = \"default\"\n",
      "password_file = \"", tmp.Sub("password"), "\"\nchain_url_file = \"", tmp.Sub("chain/chain.url"),
      "\"\nnetuid = 1\nendpoint = \"tcp://127.0.0.1:*\"\ncheckpoint = \"", tmp.Sub("model"),
      "\"\nmax_batch = 8\nmax_prefixes = 8\nworkers = 8\nmetrics_port = 0\n"
      // Long, so that only a refresh on a miss can admit a newly registered key.
      "metagraph_refresh_ms = 600000\ncpu = true\ndata_dir = \"", tmp.Sub("miner-data"), "\"\n");
  ASSERT_TRUE(WriteFileAtomic(tmp.Sub("miner.toml"), config, 0644).ok());
  Process miner({AGORA_MINER_BINARY, "--config", tmp.Sub("miner.toml"), "--register",
                 "--ready-file", tmp.Sub("miner.ready")},
                tmp.Sub("miner.log"));
  miner.Start();
  absl::StatusOr<std::string> ready = WaitForFile(tmp.Sub("miner.ready"), miner, std::chrono::seconds(60));
  ASSERT_TRUE(ready.ok()) << ready.status();
  std::vector<std::string> lines = absl::StrSplit(absl::StripAsciiWhitespace(*ready), '\n');
  ASSERT_EQ(lines.size(), 2u);
  absl::StatusOr<protocol::Peer> peer = chain::ParseChainUrl(lines[0]);  // same "<address>@endpoint" form
  ASSERT_TRUE(peer.ok()) << peer.status();
  EXPECT_EQ(peer->hotkey, miner_hotkey);
  int metrics_port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(lines[1], &metrics_port));
  Log("miner serving at " + peer->endpoint);
  EXPECT_TRUE(absl::StrContains(miner.LogText(), "burns")) << miner.LogText();

  Log("checking the metagraph: registered, axon announced");
  absl::StatusOr<chain::Metagraph> mg = (*client)->GetMetagraph(1);
  ASSERT_TRUE(mg.ok()) << mg.status();
  bool announced = false;
  for (const chain::NeuronInfo& n : mg->neurons) {
    if (n.hotkey == miner_hotkey) announced = n.axon_endpoint == peer->endpoint;
  }
  EXPECT_TRUE(announced);

  auto vali = protocol::Client::Create(vali_hot);
  ASSERT_TRUE(vali.ok());
  auto deadline = [] { return protocol::DeadlineAfter(std::chrono::seconds(20)); };

  Log("predict and generate from the registered validator");
  protocol::PredictRequest pr;
  pr.prefixes = {{116, 111, 32}, {98, 101}};
  auto predicted = (*vali)->CallTyped<protocol::PredictRequest, protocol::PredictReply>(
      *peer, MessageKind::kPredictRequest, MessageKind::kPredictReply, pr, deadline());
  ASSERT_TRUE(predicted.ok()) << predicted.status() << "\n" << miner.LogText();
  ASSERT_EQ(predicted->distributions.size(), 2u);
  EXPECT_EQ(predicted->distributions[0].probs.size(), 256u);
  EXPECT_TRUE(absl::StrContains(train.LogText(), ToHex(predicted->model_hash)));
  protocol::GenerateRequest gr;
  gr.prompt = "to be or ";
  gr.max_tokens = 12;
  gr.temperature = 0;
  gr.stop = {"\n"};
  auto generated = (*vali)->CallTyped<protocol::GenerateRequest, protocol::GenerateReply>(
      *peer, MessageKind::kGenerateRequest, MessageKind::kGenerateReply, gr, deadline());
  ASSERT_TRUE(generated.ok()) << generated.status();
  EXPECT_FALSE(generated->tokens.empty());
  EXPECT_LE(generated->tokens.size(), 12u);
  Log("generated: '" + generated->text + "' (" + generated->finish_reason + ")");

  Log("a streamed generation: one signed chunk per token, then the whole reply");
  {
    protocol::GenerateRequest sr = gr;
    sr.stream = true;
    std::vector<protocol::GenerateChunk> chunks;
    std::promise<absl::StatusOr<protocol::Reply>> done;
    protocol::Client::Stream stream;
    stream.chunk_kind = MessageKind::kGenerateChunk;
    stream.on_chunk = [&chunks](const protocol::Reply& r) {
      absl::StatusOr<protocol::GenerateChunk> c =
          protocol::Decode<protocol::GenerateChunk>(r.body(), "GenerateChunk");
      ASSERT_TRUE(c.ok()) << c.status();
      chunks.push_back(*c);
    };
    (*vali)->CallStreaming(*peer, MessageKind::kGenerateRequest, protocol::Encode(sr), deadline(),
                           stream, [&done](absl::StatusOr<protocol::Reply> r) {
                             done.set_value(std::move(r));
                           });
    absl::StatusOr<protocol::Reply> final_reply = done.get_future().get();
    ASSERT_TRUE(final_reply.ok()) << final_reply.status();
    absl::StatusOr<protocol::GenerateReply> whole =
        protocol::Decode<protocol::GenerateReply>(final_reply->body(), "GenerateReply");
    ASSERT_TRUE(whole.ok());
    EXPECT_EQ(whole->tokens, generated->tokens);  // greedy: the same completion
    ASSERT_EQ(chunks.size(), whole->tokens.size());
    std::string text;
    for (const protocol::GenerateChunk& c : chunks) text += c.text;
    EXPECT_EQ(text, whole->text);
    EXPECT_TRUE(chunks.back().done);
    EXPECT_EQ(chunks.back().finish_reason, whole->finish_reason);
  }

  Log("bad requests get reasons");
  auto reason = [&](MessageKind kind, const std::string& body) {
    absl::StatusOr<protocol::Reply> r = (*vali)->Call(*peer, kind, body, deadline());
    return r.ok() ? std::optional<Reason>() : protocol::ReasonOf(r.status());
  };
  protocol::PredictRequest oversize;
  oversize.prefixes.assign(9, {1});
  EXPECT_EQ(reason(MessageKind::kPredictRequest, protocol::Encode(oversize)), Reason::kBadRequest);
  protocol::PredictRequest bad_token;
  bad_token.prefixes = {{1, 999}};
  EXPECT_EQ(reason(MessageKind::kPredictRequest, protocol::Encode(bad_token)), Reason::kBadRequest);
  protocol::GenerateRequest absurd = gr;
  absurd.max_tokens = 100'000'000;
  EXPECT_EQ(reason(MessageKind::kGenerateRequest, protocol::Encode(absurd)), Reason::kBadRequest);
  EXPECT_EQ(reason(MessageKind::kGenerateRequest, protocol::Encode(protocol::GenerateRequest{})),
            Reason::kBadRequest);
  EXPECT_EQ(reason(MessageKind::kGenerateChunk, protocol::Encode(gr)), Reason::kUnknownKind);
  EXPECT_EQ(reason(MessageKind::kGenerateRequest, "\x81\xa1x\x01"), Reason::kBadBody);

  Log("an unregistered key is refused");
  auto outsider = protocol::Client::Create(stranger);
  ASSERT_TRUE(outsider.ok());
  absl::StatusOr<protocol::Reply> refused =
      (*outsider)->Call(*peer, MessageKind::kPredictRequest, protocol::Encode(pr), deadline());
  EXPECT_EQ(protocol::ReasonOf(refused.status()), Reason::kUnregistered) << refused.status();

  Log("still serving");
  auto again = (*vali)->CallTyped<protocol::PredictRequest, protocol::PredictReply>(
      *peer, MessageKind::kPredictRequest, MessageKind::kPredictReply, pr, deadline());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->distributions[1].probs, predicted->distributions[1].probs);

  Log("scraping /metrics");
  httplib::Client http("127.0.0.1", metrics_port);
  auto res = http.Get("/metrics");
  ASSERT_TRUE(res) << "no /metrics response";
  EXPECT_EQ(res->status, 200);
  EXPECT_TRUE(absl::StrContains(res->body, "agora_miner_refusals_total{reason=\"unregistered\"} 1"))
      << res->body;
  EXPECT_TRUE(absl::StrContains(res->body, "agora_miner_requests_total{task=\"predict\",outcome=\"ok\"} 2"));

  Log("the stranger registers: a refusal makes the miner re-read the metagraph at once");
  {
    chain::RegisterTx reg_stranger;
    reg_stranger.netuid = 1;
    reg_stranger.hotkey = stranger->public_key();
    reg_stranger.max_burn = 10'000'000'000;
    absl::StatusOr<chain::TxReceiptMsg> landed =
        (*client)->SendWhenAllowed(owner, chain::kTxRegister, reg_stranger);
    ASSERT_TRUE(landed.ok()) << landed.status();
    ASSERT_TRUE((*client)->WaitForHeight(landed->block, std::chrono::seconds(30)).ok());
    // The periodic refresh is 10 minutes away: within a minute, only the
    // refresh a miss triggers can admit it.
    absl::StatusOr<protocol::Reply> served = absl::UnknownError("not tried");
    for (const auto until = Clock::now() + std::chrono::minutes(1); Clock::now() < until;) {
      served = (*outsider)->Call(*peer, MessageKind::kPredictRequest, protocol::Encode(pr), deadline());
      if (served.ok()) break;
      ASSERT_EQ(protocol::ReasonOf(served.status()), Reason::kUnregistered) << served.status();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // a client's retry pace
    }
    EXPECT_TRUE(served.ok()) << served.status() << "\n" << miner.LogText();
  }

  Log("SIGTERM: the miner drains and exits 0");
  // A request it answers now, replayed to it after the restart below.
  protocol::SealParams replayed_params;
  replayed_params.receiver = miner_hotkey;
  replayed_params.kind = MessageKind::kInfoRequest;
  replayed_params.nonce = protocol::NonceGeneratorFor(vali_hot->public_key())->Next();
  replayed_params.timestamp_ms = UnixMillis();
  const std::string replayed =
      protocol::SealEnvelope(*vali_hot, replayed_params, protocol::Encode(protocol::InfoRequest{}));
  auto send_raw = [&](const protocol::Peer& to) -> std::optional<testing::RawReply> {
    testing::RawPeer raw(to, /*curve=*/true, vali_hot);
    raw.Send({replayed});
    std::optional<std::string> bytes = raw.Receive(std::chrono::seconds(10));
    if (!bytes) return std::nullopt;
    absl::StatusOr<testing::RawReply> r = testing::OpenRawReply(*bytes, vali_hot->public_key(), to.hotkey);
    return r.ok() ? std::optional<testing::RawReply>(*r) : std::nullopt;
  };
  std::optional<testing::RawReply> first = send_raw(*peer);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->header.kind, MessageKind::kInfoReply);
  miner.Signal(SIGTERM);
  EXPECT_EQ(miner.Wait(std::chrono::seconds(30)), 0) << miner.LogText();

  Log("restarted on the same data_dir, it still refuses the replay of a request it answered");
  Process again_miner({AGORA_MINER_BINARY, "--config", tmp.Sub("miner.toml"), "--ready-file",
                       tmp.Sub("miner2.ready")},
                      tmp.Sub("miner2.log"));
  again_miner.Start();
  absl::StatusOr<std::string> ready2 =
      WaitForFile(tmp.Sub("miner2.ready"), again_miner, std::chrono::seconds(60));
  ASSERT_TRUE(ready2.ok()) << ready2.status();
  std::vector<std::string> lines2 = absl::StrSplit(absl::StripAsciiWhitespace(*ready2), '\n');
  ASSERT_FALSE(lines2.empty());
  absl::StatusOr<protocol::Peer> peer2 = chain::ParseChainUrl(lines2[0]);
  ASSERT_TRUE(peer2.ok()) << peer2.status();
  std::optional<testing::RawReply> second = send_raw(*peer2);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->header.kind, MessageKind::kError);
  EXPECT_EQ(second->reason, "replayed-nonce") << again_miner.LogText();
  again_miner.Signal(SIGTERM);
  EXPECT_EQ(again_miner.Wait(std::chrono::seconds(30)), 0) << again_miner.LogText();
  chain.Signal(SIGTERM);
  chain.Wait(std::chrono::seconds(10));
}

}  // namespace
}  // namespace agora
