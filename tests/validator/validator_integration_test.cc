// validator_integration_test: the whole loop with real processes on loopback.
// A chain; two honest miners of clearly different quality (trained here by
// agora-train: one long, one barely), a random miner, a liar (serves a
// small model of its own, claims the good one's hash), a copycat (relays
// the good miner's answers) and a lazy one (honest but for customers' echo
// log-probabilities, answered flat); agora-validator over the good model's
// held-out text, holding the good model and fetching the others from their
// miners (register_model). The good miner logs the shape of every request
// (--request-log): the gateway's must be shapes its challenges showed, but
// the prefixes of one text. The lazy miner takes echo requests until a
// re-run of one catches it. After a few steps the
// validator's weights on chain rank good > weak, and the random miner, the
// liar and the copycat get (almost) nothing. Then kill -9 and restart the
// validator: it resumes its step count and never reuses held-out text.
// Runs twice: with set_weights and with commit-reveal.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "chain/client.h"
#include "chain/tx.h"
#include "common/address.h"
#include "common/file_util.h"
#include "common/wallet.h"
#include "gtest/gtest.h"
#include "tests/common/child_process.h"
#include "tests/common/temp_dir.h"
#include "protocol/task_messages.h"
#include "validator/receipt.h"
#include "validator/score_record.h"

namespace agora {
namespace {

using Clock = std::chrono::steady_clock;
using testing::Process;
using testing::WaitForFile;

void Log(const std::string& line) { std::fprintf(stderr, "[validator_it] %s\n", line.c_str()); }

// A corpus with real structure (words from a small lexicon in seeded
// order), so a model trained longer predicts it clearly better.
std::string Corpus() {
  static const char* kWords[] = {"the",   "market", "miner",  "answers", "every",  "question",
                                 "with",  "a",      "model",  "that",    "learns", "from",
                                 "text",  "and",    "stake",  "weights", "flow",   "to",
                                 "those", "who",    "serve",  "well",    "chain",  "keeps"};
  uint64_t x = 12345;
  std::string out;
  for (int line = 0; line < 6000; ++line) {  // ~77 KB held out: minutes of steps
    const int n = 5 + static_cast<int>((x >> 33) % 6);
    for (int w = 0; w < n; ++w) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      if (w > 0) out += ' ';
      out += kWords[(x >> 33) % (sizeof(kWords) / sizeof(kWords[0]))];
    }
    out += ".\n";
  }
  return out;
}

struct HttpResult {
  int status = 0;
  std::string body;
};

// Runs `command` (/bin/sh) to its end: its exit status as pclose gives it
// (0 for success; -1 when it could not be started) and its standard output.
struct CommandResult {
  int status = -1;
  std::string out;
};
CommandResult RunCommand(const std::string& command) {
  CommandResult r;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  r.status = pclose(p);
  return r;
}

// Runs curl (a real HTTP client) and returns the status and body.
HttpResult Curl(const std::string& args) {
  HttpResult r;
  CommandResult c = RunCommand("curl -s -S -m 30 -w '\\n%{http_code}' " + args);
  if (c.status == -1) return r;
  r.body = std::move(c.out);
  const size_t nl = r.body.rfind('\n');
  if (nl == std::string::npos) return r;
  r.status = std::atoi(r.body.c_str() + nl + 1);
  r.body.resize(nl);
  return r;
}

std::string Quote(const std::string& s) {  // for a single-quoted shell word
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::vector<std::string> RecordFiles(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    // Only finished records: the running validator's temporary files come and go.
    const std::string name = e.path().filename().string();
    if (absl::StartsWith(name, "step-") && absl::EndsWith(name, ".json")) out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

class ValidatorIntegrationTest : public ::testing::TestWithParam<bool> {};

// The lines of a miner's request log (miner/request_log.h) sent by `sender`.
std::vector<nlohmann::json> RequestsFrom(const std::string& path, const std::string& sender) {
  std::vector<nlohmann::json> out;
  absl::StatusOr<std::string> text = ReadFile(path, 1 << 26);
  if (!text.ok()) return out;
  for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.value("sender", "") == sender) out.push_back(std::move(j));
  }
  return out;
}

// What a miner could key on: the kind, the fields set, and for predict
// whether the prefixes are nested (an echo's shape).
std::string ShapeKey(const nlohmann::json& r) {
  std::string key = r.value("kind", "");
  for (const auto& f : r["fields"]) absl::StrAppend(&key, " ", f.get<std::string>());
  if (r.value("kind", "") == "predict") absl::StrAppend(&key, r.value("nested", false) ? " nested" : " disjoint");
  return key;
}

TEST_P(ValidatorIntegrationTest, RanksMinersByQualityAndSurvivesKill9) {
  const bool commit_reveal = GetParam();
  testing::TempDir tmp;
  const std::string password = "validator-it-password";
  ASSERT_TRUE(WriteFileAtomic(tmp.Sub("password"), password + "\n").ok());
  SecretBytes pw(password.size());
  std::memcpy(pw.data(), password.data(), password.size());

  Log("wallets: validator, good, weak, random, liar, copycat");
  const WalletStore store(tmp.Sub("wallets"));
  const std::vector<std::string> names = {"validator", "good", "weak", "random", "liar", "copycat", "lazy"};
  std::map<std::string, PublicKey> cold, hot;
  for (const std::string& n : names) {
    absl::StatusOr<WalletInfo> w = store.Create(n, "default", pw, kMinKdfParams);
    ASSERT_TRUE(w.ok()) << w.status();
    cold[n] = *w->coldkey.public_key;
    hot[n] = *w->hotkeys.at(0).public_key;
  }
  absl::StatusOr<SigningKey> owner = SigningKey::FromSeed(Blake2b256("validator-it-owner"));
  ASSERT_TRUE(owner.ok());

  Log("genesis and agora-chain");
  std::string genesis = absl::StrCat("chain_id = \"validator-it\"\nblock_interval_ms = 100\n",
                                     "[[accounts]]\naddress = \"", EncodeAddress(owner->public_key()),
                                     "\"\nbalance = 1000000000000\n");
  for (const std::string& n : names) {
    absl::StrAppend(&genesis, "[[accounts]]\naddress = \"", EncodeAddress(cold[n]),
                    "\"\nbalance = 100000000000\n");
  }
  absl::StrAppend(&genesis, "[[subnets]]\nnetuid = 1\nname = \"it\"\nowner = \"",
                  EncodeAddress(owner->public_key()), "\"\n",
                  "[subnets.params]\nburn = 1000000000\nmin_burn = 1000000\nmax_burn = 10000000000\n"
                  "serving_rate_limit = 0\nmax_regs_per_block = 10\ntempo = 10\n"
                  "weights_set_rate_limit = 5\nreveal_period_epochs = 1\ncommit_reveal = ",
                  commit_reveal ? "true" : "false", "\n");
  ASSERT_TRUE(WriteFileAtomic(tmp.Sub("genesis.toml"), genesis, 0644).ok());
  std::filesystem::create_directories(tmp.Sub("chain"));
  Process chain({AGORA_CHAIN_BINARY, "run", "--genesis=" + tmp.Sub("genesis.toml"),
                 "--data-dir=" + tmp.Sub("chain"), "--endpoint=tcp://127.0.0.1:*",
                 "--events-endpoint=tcp://127.0.0.1:*", "--block-interval-ms=100"},
                tmp.Sub("chain.log"));
  chain.Start();
  absl::StatusOr<std::string> url_text =
      WaitForFile(tmp.Sub("chain/chain.url"), chain, std::chrono::seconds(30));
  ASSERT_TRUE(url_text.ok()) << url_text.status();
  const std::string url(absl::StripAsciiWhitespace(*url_text));
  auto client = chain::ChainClient::Connect(url);
  ASSERT_TRUE(client.ok()) << client.status();

  Log("registering and staking the validator");
  absl::StatusOr<SigningKey> vcold = store.LoadColdkey("validator", pw);
  ASSERT_TRUE(vcold.ok());
  chain::RegisterTx reg;
  reg.netuid = 1;
  reg.hotkey = hot["validator"];
  reg.max_burn = 10'000'000'000;
  ASSERT_TRUE((*client)->SendWhenAllowed(*vcold, chain::kTxRegister, reg).ok());
  chain::StakeTx stake;
  stake.hotkey = hot["validator"];
  stake.amount = 50'000'000'000;
  absl::StatusOr<chain::TxReceiptMsg> staked = (*client)->Send(*vcold, chain::kTxAddStake, stake);
  ASSERT_TRUE(staked.ok()) << staked.status();

  Log("training a good and a weak model, and the liar's own");
  ASSERT_TRUE(WriteFileAtomic(tmp.Sub("corpus.txt"), Corpus(), 0644).ok());
  auto train = [&](const std::string& name, const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {AGORA_TRAIN_BINARY, "--corpus", tmp.Sub("corpus.txt"),
                                     "--out", tmp.Sub(name), "--context", "64", "--seed", "5",
                                     "--holdout-fraction", "0.3", "--holdout-out",
                                     tmp.Sub(name + "-holdout.txt"), "--quiet", "--cpu"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return Process(argv, tmp.Sub(name + ".train.log"));
  };
  Process good_train = train("good", {"--layers", "2", "--dim", "48", "--heads", "2", "--steps",
                                      "200", "--batch", "8", "--lr", "0.01"});
  Process weak_train = train("weak", {"--layers", "1", "--dim", "16", "--heads", "2", "--steps",
                                      "3", "--batch", "2"});
  // The liar serves weights no honest miner serves: with the weak miner's,
  // its answers would be duplicates of the weak miner's (validator/duplicates.h).
  Process liar_train = train("liar-model", {"--layers", "1", "--dim", "24", "--heads", "2",
                                            "--steps", "3", "--batch", "2"});
  // The lazy miner's own model, trained enough to be routed to (and not a
  // near-copy of the weak one's barely trained function).
  Process lazy_train = train("lazy-model", {"--layers", "1", "--dim", "32", "--heads", "2",
                                            "--steps", "60", "--batch", "4", "--lr", "0.01"});
  good_train.Start();
  weak_train.Start();
  liar_train.Start();
  lazy_train.Start();
  ASSERT_EQ(good_train.Wait(std::chrono::seconds(240)), 0) << good_train.LogText();
  ASSERT_EQ(weak_train.Wait(std::chrono::seconds(120)), 0) << weak_train.LogText();
  ASSERT_EQ(liar_train.Wait(std::chrono::seconds(120)), 0) << liar_train.LogText();
  ASSERT_EQ(lazy_train.Wait(std::chrono::seconds(120)), 0) << lazy_train.LogText();
  Log("good: " + good_train.LogText());
  Log("weak: " + weak_train.LogText());
  absl::StatusOr<std::string> good_config = ReadFile(tmp.Sub("good/config.json"), 1 << 20);
  ASSERT_TRUE(good_config.ok());
  const std::string good_hash =
      nlohmann::json::parse(*good_config).at("content_hash").get<std::string>();

  Log("starting six miners");
  std::vector<std::unique_ptr<Process>> miners;
  auto start_miner = [&](const std::string& name, const std::string& ckpt,
                         const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {
        AGORA_MINER_BINARY, "--wallet-dir", tmp.Sub("wallets"), "--wallet", name,
        "--password-file", tmp.Sub("password"), "--chain-url", url, "--netuid", "1", "--register",
        "--endpoint", "tcp://127.0.0.1:*", "--cpu",
        "--metagraph-refresh-ms", "300", "--ready-file", tmp.Sub(name + ".ready")};
    if (!ckpt.empty()) argv.insert(argv.end(), {"--checkpoint", tmp.Sub(ckpt)});  // a copycat has none
    argv.insert(argv.end(), extra.begin(), extra.end());
    miners.push_back(std::make_unique<Process>(argv, tmp.Sub(name + ".log")));
    miners.back()->Start();
  };
  auto await_miners = [&](size_t from) {
    for (size_t i = from; i < miners.size(); ++i) {
      absl::StatusOr<std::string> r =
          WaitForFile(tmp.Sub(names[i + 1] + ".ready"), *miners[i], std::chrono::seconds(90));
      ASSERT_TRUE(r.ok()) << names[i + 1] << ": " << r.status();
    }
  };
  // The honest miners register their models first (a ready miner has); the
  // adversaries know the good model's hash only once it is public.
  start_miner("good", "good", {"--request-log", tmp.Sub("good.requests")});
  start_miner("weak", "weak", {});
  await_miners(0);
  // random registers the liar's weights as its own model; the liar claims
  // the good model (the chain refuses it that registration); the copycat
  // has none.
  start_miner("random", "liar-model", {"--mode", "random"});
  start_miner("liar", "liar-model", {"--mode", "liar", "--claim-model", good_hash});
  start_miner("copycat", "", {"--mode", "copycat", "--copy-hotkey", EncodeAddress(hot["good"])});
  // Honest on everything a challenge could be, flat distributions for the
  // prefixes of one text (only customers ask those): it answers them first.
  start_miner("lazy", "lazy-model", {"--mode", "lazy-logprobs"});
  await_miners(2);

  Log("starting agora-validator");
  const std::string config = absl::StrCat(
      "wallet_dir = \"", tmp.Sub("wallets"), "\"\nwallet = \"validator\"\n",
      "password_file = \"", tmp.Sub("password"), "\"\nchain_url = \"", url, "\"\nnetuid = 1\n",
      "data_dir = \"", tmp.Sub("vali"), "\"\nholdout = \"", tmp.Sub("good-holdout.txt"), "\"\n",
      "known_models = \"", tmp.Sub("good"), "\"\n",  // the weak model is fetched from its miner
      "reference_model = \"", tmp.Sub("good"), "\"\ngenerate_every = 3\ngenerate_tokens = 8\n",
      "challenges = 8\nmin_prefix = 16\nmax_prefix = 48\nstep_interval_ms = 250\n",
      "timeout_ms = 5000\nalpha = 0.3\nweights_interval = 10\ncpu = true\n",
      "gateway_port = 0\napi_keys_file = \"", tmp.Sub("keys.toml"), "\"\n",
      "gateway_timeout_ms = 4000\ngateway_max_body_bytes = 4096\nprice_per_token = 1000\nfee_forward_interval = 2\n",
      "gateway_ready_file = \"", tmp.Sub("gateway.url"), "\"\n");
  ASSERT_TRUE(WriteFileAtomic(tmp.Sub("keys.toml"),
                              "[[keys]]\nname = \"alice\"\nkey = \"sk-alice-0123456789abcdef\"\n"
                              "rate_per_s = 100\nburst = 100\nmax_tokens = 32\ncredit_tokens = 100000\n"
                              "[[keys]]\nname = \"slowpoke\"\nkey = \"sk-slow-0123456789abcdef\"\n"
                              "rate_per_s = 0.001\nburst = 1\ncredit_tokens = 1000\n"
                              "[[keys]]\nname = \"poor\"\nkey = \"sk-poor-0123456789abcdef\"\n"
                              "credit_tokens = 4\n"
                              "[[keys]]\nname = \"payer\"\nkey = \"sk-payer-0123456789abcdef\"\n"
                              "account = \"" + EncodeAddress(owner->public_key()) + "\"\n",
                              0644).ok());
  ASSERT_TRUE(WriteFileAtomic(tmp.Sub("validator.toml"), config, 0644).ok());
  const std::vector<std::string> vargv = {AGORA_VALIDATOR_BINARY, "--config", tmp.Sub("validator.toml"),
                                          "--ready-file", tmp.Sub("validator.ready")};
  auto validator = std::make_unique<Process>(vargv, tmp.Sub("validator.log"));
  validator->Start();
  ASSERT_TRUE(WaitForFile(tmp.Sub("validator.ready"), *validator, std::chrono::seconds(90)).ok())
      << validator->LogText();

  // Waits for `steps` score records, then for weights set after them.
  auto weights_after = [&](size_t steps) -> std::map<uint16_t, uint16_t> {
    const auto until = Clock::now() + std::chrono::seconds(150);
    while (Clock::now() < until && RecordFiles(tmp.Sub("vali/records")).size() < steps) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // polling the records
    }
    absl::StatusOr<chain::Metagraph> mg = (*client)->GetMetagraph(1);
    if (!mg.ok()) return {};
    const uint64_t since = mg->block;
    while (Clock::now() < until) {
      mg = (*client)->GetMetagraph(1, false, true);
      if (mg.ok()) {
        for (const chain::NeuronInfo& n : mg->neurons) {
          if (n.hotkey == hot["validator"] && n.last_update > since && !n.weights.empty() &&
              !(n.weights.size() == 1 && n.weights[0].first == n.uid)) {
            std::map<uint16_t, uint16_t> w;
            for (auto [uid, x] : n.weights) w[uid] = x;
            return w;
          }
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // polling the chain
    }
    return {};
  };
  std::map<std::string, uint16_t> uid;
  {
    absl::StatusOr<chain::Metagraph> mg = (*client)->GetMetagraph(1);
    ASSERT_TRUE(mg.ok());
    for (const chain::NeuronInfo& n : mg->neurons) {
      for (const std::string& name : names) {
        if (hot[name] == n.hotkey) uid[name] = n.uid;
      }
    }
  }
  std::map<uint16_t, uint16_t> w = weights_after(12);
  ASSERT_FALSE(w.empty()) << validator->LogText();
  std::string shown;
  for (const std::string& name : names) absl::StrAppend(&shown, name, "=", w[uid[name]], " ");
  Log("weights on chain: " + shown);
  EXPECT_GT(w[uid["good"]], w[uid["weak"]]) << shown;
  EXPECT_LE(w[uid["random"]], w[uid["good"]] / 50) << shown;
  EXPECT_LE(w[uid["liar"]], w[uid["good"]] / 50) << shown;
  EXPECT_LE(w[uid["copycat"]], w[uid["good"]] / 50) << shown;
  EXPECT_TRUE(absl::StrContains(validator->LogText(), "failed a spot check")) << validator->LogText();

  Log("score records are signed and name every miner");
  std::vector<std::string> files = RecordFiles(tmp.Sub("vali/records"));
  ASSERT_GE(files.size(), 12u);
  uint64_t last_offset = 0;
  size_t copies_caught = 0;  // the copycat's answers refused: it has no model of its own
  // A miner sits steps out while its model is fetched in the background;
  // once every model is in, every record names all six.
  bool all_in = false;
  for (const std::string& f : files) {
    absl::StatusOr<std::string> text = ReadFile(f, 1 << 22);
    ASSERT_TRUE(text.ok());
    absl::StatusOr<nlohmann::json> rec = validator::VerifyRecord(*text);
    ASSERT_TRUE(rec.ok()) << f << ": " << rec.status();
    EXPECT_LE((*rec)["miners"].size(), 6u);
    all_in = all_in || (*rec)["miners"].size() == 6u;
    if (all_in) {
      EXPECT_EQ((*rec)["miners"].size(), 6u) << f;
    }
    for (const auto& m : (*rec)["miners"]) {
      if (m["uid"] != uid["copycat"] || m["reason"] == "") continue;
      EXPECT_EQ(m["reason"], absl::StrCat("uid ", uid["copycat"], " has no registered model (register_model)"))
          << m.dump();
      EXPECT_EQ(m["model"], good_hash) << "it claims the copied model";
      ++copies_caught;
    }
    for (const auto& c : (*rec)["challenges"]) {
      last_offset = std::max<uint64_t>(last_offset, c["offset"].get<uint64_t>());
    }
  }
  EXPECT_TRUE(all_in) << "no record names every miner";
  EXPECT_GE(copies_caught, files.size() / 2) << "the copycat answers, and is refused";
  EXPECT_TRUE(absl::StrContains(validator->LogText(), "fetched model")) << "the weak model, from its miner";
  const size_t before = files.size();

  // What the validator's challenges looked like to the good miner so far
  // (the gateway has not been used yet): the shapes customers must share.
  const std::string vali_address = EncodeAddress(hot["validator"]);
  const std::vector<nlohmann::json> challenge_requests =
      RequestsFrom(tmp.Sub("good.requests"), vali_address);
  std::set<std::string> challenge_shapes;
  for (const auto& r : challenge_requests) challenge_shapes.insert(ShapeKey(r));
  EXPECT_TRUE(challenge_shapes.count("predict prefixes disjoint")) << challenge_requests.size();
  EXPECT_TRUE(challenge_shapes.count("generate prompt max_tokens seed")) << challenge_requests.size();
  EXPECT_EQ(challenge_shapes.size(), 2u);

  Log("the gateway: completions, receipts, errors");
  absl::StatusOr<std::string> gw = ReadFile(tmp.Sub("gateway.url"), 256);
  ASSERT_TRUE(gw.ok()) << gw.status();
  const std::string base(absl::StripAsciiWhitespace(*gw));
  const std::string alice = "-H 'Authorization: Bearer sk-alice-0123456789abcdef' ";
  const std::string json_type = "-H 'Content-Type: application/json' ";
  auto post = [&](const std::string& auth, const std::string& path, const std::string& body) {
    return Curl(auth + json_type + "-X POST --data-binary " + Quote(body) + " " + base + path);
  };
  HttpResult ok = post(alice, "/v1/completions", R"({"prompt": "the market ", "max_tokens": 8, "seed": 1})");
  ASSERT_EQ(ok.status, 200) << ok.body;
  nlohmann::json answer = nlohmann::json::parse(ok.body);
  ASSERT_EQ(answer["choices"].size(), 1u);
  const std::string text = answer["choices"][0]["text"].get<std::string>();
  EXPECT_EQ(answer["usage"]["completion_tokens"].get<int>(), 8) << ok.body;
  Log("completion: '" + text + "'");
  absl::StatusOr<protocol::GenerateReply> signed_reply = validator::VerifyReceipt(answer["agora_receipt"]);
  ASSERT_TRUE(signed_reply.ok()) << signed_reply.status();
  // Byte-level models may emit invalid UTF-8, which JSON answers replace.
  auto as_json = [](const std::string& t) {
    return nlohmann::json(t).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  EXPECT_EQ(as_json(signed_reply->text), as_json(text));
  // Only miners with a positive score are routed to: not the random one or the liar.
  const std::string answered_by = answer["agora_receipt"]["hotkey"].get<std::string>();
  EXPECT_TRUE(answered_by == EncodeAddress(hot["good"]) || answered_by == EncodeAddress(hot["weak"]) ||
              answered_by == EncodeAddress(hot["lazy"]))
      << answered_by;
  nlohmann::json tampered = answer["agora_receipt"];
  std::string env = tampered["envelope"].get<std::string>();
  env[env.size() - 3] = env[env.size() - 3] == '0' ? '1' : '0';
  tampered["envelope"] = env;
  EXPECT_FALSE(validator::VerifyReceipt(tampered).ok());
  nlohmann::json other = answer["agora_receipt"];
  other["hotkey"] = EncodeAddress(hot["random"]);  // a hotkey that did not sign it
  EXPECT_FALSE(validator::VerifyReceipt(other).ok());

  HttpResult chat = post(alice, "/v1/chat/completions",
                         R"({"messages": [{"role": "user", "content": "say something"}], "max_tokens": 4})");
  ASSERT_EQ(chat.status, 200) << chat.body;
  EXPECT_EQ(nlohmann::json::parse(chat.body)["choices"][0]["message"]["role"], "assistant");

  Log("log-probabilities: next-token distributions, echo, a completion's alternatives");
  const std::string lazy_address = EncodeAddress(hot["lazy"]);
  size_t lazy_answers = 0;  // echo requests the lazy miner answered (first, and flat)
  {
    HttpResult next = post(alice, "/v1/completions",
                           R"({"prompt": ["the market ", "every miner ", "stake and ", "a model that ", "the chain "],)"
                           R"( "max_tokens": 0, "logprobs": 5})");
    ASSERT_EQ(next.status, 200) << next.body;
    const nlohmann::json j = nlohmann::json::parse(next.body);
    ASSERT_EQ(j["choices"].size(), 5u) << next.body;
    EXPECT_EQ(j["usage"]["logprob_positions"], 5) << next.body;
    for (const auto& c : j["choices"]) {
      ASSERT_EQ(c["next_token_logprobs"].size(), 5u) << next.body;
      double mass = 0;
      for (const auto& [tok, lp] : c["next_token_logprobs"].items()) {
        EXPECT_LE(lp.get<double>(), 0.0);
        mass += std::exp(lp.get<double>());
      }
      // The five most likely of 256 hold at least 5/256 of the mass.
      EXPECT_GE(mass, 5.0 / 256 - 1e-6) << c.dump();
      EXPECT_LE(mass, 1.0 + 1e-4);
    }
    ASSERT_FALSE(j["agora_receipts"].empty());
    EXPECT_EQ(j["agora_receipts"][0]["model"], j["model"]);

    HttpResult echo = post(alice, "/v1/completions",
                           R"({"prompt": "the market", "max_tokens": 0, "echo": true, "logprobs": 1})");
    ASSERT_EQ(echo.status, 200) << echo.body;
    if (nlohmann::json::parse(echo.body)["agora_receipts"][0]["hotkey"] == lazy_address) ++lazy_answers;
    const nlohmann::json e = nlohmann::json::parse(echo.body)["choices"][0];
    EXPECT_EQ(e["text"], "the market");
    ASSERT_EQ(e["logprobs"]["tokens"].size(), 10u) << echo.body;
    EXPECT_TRUE(e["logprobs"]["token_logprobs"][0].is_null());
    for (size_t i = 1; i < 10; ++i) {
      EXPECT_LE(e["logprobs"]["token_logprobs"][i].get<double>(), 0.0) << echo.body;
      EXPECT_EQ(e["logprobs"]["top_logprobs"][i].size(), 1u) << echo.body;
    }

    // No seed: the gateway draws one, as a challenge always carries one.
    HttpResult gen = post(alice, "/v1/completions", R"({"prompt": "a chain keeps", "max_tokens": 8, "logprobs": 2})");
    ASSERT_EQ(gen.status, 200) << gen.body;
    const nlohmann::json g = nlohmann::json::parse(gen.body)["choices"][0];
    const auto& lp = g["logprobs"];
    ASSERT_EQ(lp["tokens"].size(), 8u) << gen.body;
    for (size_t i = 0; i < 8; ++i) {
      ASSERT_EQ(lp["top_logprobs"][i].size(), 2u) << gen.body;
      // The token's own log-probability (the miner's, re-checkable) agrees
      // with its distribution where the token is among the two listed.
      const std::string tok = lp["tokens"][i].get<std::string>();
      if (lp["top_logprobs"][i].contains(tok)) {
        EXPECT_NEAR(lp["top_logprobs"][i][tok].get<double>(), lp["token_logprobs"][i].get<double>(), 0.02)
            << gen.body;
      }
    }
    HttpResult chat_lp = post(alice, "/v1/chat/completions",
                              R"({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 3, "logprobs": true, "top_logprobs": 1})");
    ASSERT_EQ(chat_lp.status, 200) << chat_lp.body;
    EXPECT_EQ(nlohmann::json::parse(chat_lp.body)["choices"][0]["logprobs"]["content"].size(), 3u) << chat_lp.body;

    // What the good miner saw since: every request the gateway made in a
    // challenge's shape but the log-probabilities of one text (echo, a
    // completion's alternatives), whose prefixes are nested.
    // (The gateway answers with the first valid miner: the good one may
    // still be answering, so its log is read until all three kinds show.)
    std::vector<nlohmann::json> all;
    bool saw_next = false, saw_generate = false, saw_nested = false;
    for (const auto until = Clock::now() + std::chrono::seconds(30);
         !(saw_next && saw_generate && saw_nested) && Clock::now() < until;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // polling the miner's log
      all = RequestsFrom(tmp.Sub("good.requests"), vali_address);
      for (size_t i = challenge_requests.size(); i < all.size(); ++i) {
        saw_nested = saw_nested || all[i].value("nested", false);
        saw_next = saw_next || (all[i]["kind"] == "predict" && all[i]["prefixes"] == 5);
        saw_generate = saw_generate || (all[i]["kind"] == "generate" && all[i].value("prompt_bytes", 0) == 13);
      }
    }
    EXPECT_TRUE(saw_next && saw_generate && saw_nested) << "the good miner was routed to: " << all.size();
    for (size_t i = challenge_requests.size(); i < all.size(); ++i) {
      if (all[i].value("nested", false)) continue;
      EXPECT_TRUE(challenge_shapes.count(ShapeKey(all[i])))
          << "a gateway request no challenge looks like: " << all[i].dump();
    }
  }
  Log("streamed completions: relayed token by token, the receipt signs the whole");
  for (const bool chat_stream : {false, true}) {
    HttpResult stream =
        chat_stream ? post(alice, "/v1/chat/completions",
                           R"({"messages": [{"role": "user", "content": "the chain"}], "max_tokens": 6, "stream": true})")
                    : post(alice, "/v1/completions", R"({"prompt": "the chain", "max_tokens": 6, "stream": true})");
    ASSERT_EQ(stream.status, 200) << stream.body;
    std::vector<nlohmann::json> events;
    bool done_seen = false;
    for (absl::string_view line : absl::StrSplit(stream.body, '\n')) {
      if (!absl::ConsumePrefix(&line, "data: ")) continue;
      if (line == "[DONE]") {
        done_seen = true;
        continue;
      }
      events.push_back(nlohmann::json::parse(line));
    }
    ASSERT_TRUE(done_seen) << stream.body;
    ASSERT_GE(events.size(), 2u) << stream.body;
    const nlohmann::json& last = events.back();
    ASSERT_TRUE(last.contains("agora_receipt")) << stream.body;
    absl::StatusOr<protocol::GenerateReply> whole = validator::VerifyReceipt(last["agora_receipt"]);
    ASSERT_TRUE(whole.ok()) << whole.status();
    std::string streamed;
    for (size_t k = 0; k + 1 < events.size(); ++k) {
      const nlohmann::json& c = events[k]["choices"][0];
      streamed += chat_stream ? c["delta"]["content"].get<std::string>() : c["text"].get<std::string>();
    }
    // About one event per generated token (byte-level model: a split UTF-8
    // character waits for its last byte), together the signed text.
    EXPECT_GE(events.size() - 1, 1u) << stream.body;
    EXPECT_LE(events.size() - 1, whole->tokens.size()) << stream.body;
    EXPECT_EQ(as_json(streamed), as_json(whole->text));
    EXPECT_EQ(last["usage"]["completion_tokens"].get<size_t>(), whole->tokens.size());
  }
  {
    HttpResult metrics = Curl(base + "/metrics");
    EXPECT_TRUE(absl::StrContains(metrics.body, "agora_gateway_first_piece_seconds_count")) << metrics.body;
    EXPECT_TRUE(absl::StrContains(metrics.body, "agora_gateway_stream_disqualified_total 0")) << metrics.body;
  }

  auto error_of = [](const HttpResult& r) {
    nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
    return j.is_object() && j.contains("error") ? j["error"]["type"].get<std::string>() : "(not JSON) " + r.body;
  };
  HttpResult r = post(alice, "/v1/completions", "{not json");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_of(r), "invalid_request_error");
  EXPECT_EQ(post(alice, "/v1/completions", R"({"max_tokens": 3})").status, 400);
  EXPECT_EQ(post(alice, "/v1/completions", R"({"prompt": ""})").status, 400);
  EXPECT_EQ(post(alice, "/v1/completions", R"({"prompt": "x", "max_tokens": 1000000000})").status, 400);
  EXPECT_EQ(post(alice, "/v1/completions", R"({"prompt": "x", "temperature": "hot"})").status, 400);
  EXPECT_EQ(post(alice, "/v1/chat/completions", R"({"messages": []})").status, 400);
  r = post("-H 'Authorization: Bearer sk-wrong-0123456789abcdef' ", "/v1/completions", R"({"prompt": "x"})");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(error_of(r), "authentication_error");
  EXPECT_EQ(post("", "/v1/completions", R"({"prompt": "x"})").status, 401);
  const std::string slow = "-H 'Authorization: Bearer sk-slow-0123456789abcdef' ";
  EXPECT_EQ(post(slow, "/v1/completions", R"({"prompt": "the ", "max_tokens": 2})").status, 200);
  r = post(slow, "/v1/completions", R"({"prompt": "the ", "max_tokens": 2})");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(error_of(r), "rate_limit_error");
  r = post(alice, "/v1/completions", absl::StrCat(R"({"prompt": ")", std::string(8000, 'a'), R"("})"));
  EXPECT_EQ(r.status, 413) << r.body;
  const std::string poor = "-H 'Authorization: Bearer sk-poor-0123456789abcdef' ";
  EXPECT_EQ(post(poor, "/v1/completions", R"({"prompt": "the ", "max_tokens": 4})").status, 200);
  r = post(poor, "/v1/completions", R"({"prompt": "the ", "max_tokens": 4})");
  EXPECT_EQ(r.status, 402) << r.body;
  EXPECT_EQ(error_of(r), "insufficient_quota");
  r = post(alice, "/v1/completions", absl::StrCat(R"({"prompt": "x", "model": ")", std::string(64, 'f'), R"("})"));
  EXPECT_EQ(r.status, 404) << r.body;
  HttpResult account = Curl(poor + base + "/v1/account");
  ASSERT_EQ(account.status, 200) << account.body;
  EXPECT_EQ(nlohmann::json::parse(account.body)["used_tokens"].get<int>(), 4) << account.body;
  HttpResult models = Curl(alice + base + "/v1/models");
  ASSERT_EQ(models.status, 200) << models.body;
  EXPECT_EQ(nlohmann::json::parse(models.body)["data"][0]["id"], good_hash) << models.body;
  HttpResult metagraph = Curl(base + "/metagraph");
  ASSERT_EQ(metagraph.status, 200);
  EXPECT_EQ(nlohmann::json::parse(metagraph.body)["neurons"].size(), names.size());
  HttpResult metrics = Curl(base + "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_TRUE(absl::StrContains(metrics.body, "agora_gateway_responses_total{code=\"429\"} 1")) << metrics.body;
  EXPECT_TRUE(absl::StrContains(metrics.body, "agora_gateway_miner_latency_seconds_bucket")) << metrics.body;
  EXPECT_TRUE(absl::StrContains(metrics.body, "agora_validator_weights_total{outcome=\"accepted\"}"));
  EXPECT_EQ(Curl(alice + base + "/v1/nothing").status, 404);

  Log("the dashboard: its files, /history, and what headless Chromium draws from them");
  {
    // The completions above reach /history with the validator's next step
    // (one point per step): wait for it rather than race it.
    auto has_latency = [&] {
      const nlohmann::json h = nlohmann::json::parse(Curl(base + "/history?since=0").body, nullptr, false);
      if (!h.is_object() || !h["points"].is_array()) return false;
      for (const nlohmann::json& p : h["points"]) {
        if (p["latency"]["count"].get<uint64_t>() > 0) return true;
      }
      return false;
    };
    const auto until = Clock::now() + std::chrono::seconds(60);
    while (Clock::now() < until && !has_latency()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));  // polling the history
    }
    // No key needed; each file with its type (-D -: headers into the body).
    const std::pair<std::string, std::string> files[] = {
        {"/dashboard", "text/html"}, {"/dashboard/", "text/html"},
        {"/dashboard/app.js", "text/javascript"}, {"/dashboard/style.css", "text/css"}};
    for (const auto& [path, type] : files) {
      HttpResult f = Curl("-D - " + base + path);
      EXPECT_EQ(f.status, 200) << path;
      EXPECT_TRUE(absl::StrContains(f.body, "Content-Type: " + type)) << path << ": " << f.body.substr(0, 300);
    }
    EXPECT_TRUE(absl::StrContains(Curl(base + "/dashboard").body, "id=\"chart-latency\""));
    // Only the embedded files: a source file beside them, a path, or a
    // near-miss name is a 404 like any unknown path.
    for (const char* path : {"/dashboard/embed.cmake", "/dashboard/x/app.js", "/dashboard/..%2Fgateway.cc",
                             "/dashboardx", "/historyx"}) {
      EXPECT_EQ(Curl(base + path).status, 404) << path;
    }
    // Read-only: a POST is refused and a query (even a long one) is ignored.
    EXPECT_NE(Curl("-X POST --data-binary " + Quote(std::string(1000, 'x')) + " " + base + "/history").status, 200);
    HttpResult history = Curl(Quote(base + "/history?since=0&q=" + std::string(2000, 'q')));
    ASSERT_EQ(history.status, 200) << history.body;
    const nlohmann::json h = nlohmann::json::parse(history.body, nullptr, false);
    ASSERT_TRUE(h.is_object() && h["points"].is_array()) << history.body.substr(0, 500);
    const size_t capacity = h["capacity"].get<size_t>();
    EXPECT_GE(h["points"].size(), 10u);  // one per block the validator stepped on
    EXPECT_LE(h["points"].size(), capacity);
    uint64_t last_block = 0;
    bool latency_seen = false, validator_seen = false;
    for (const nlohmann::json& p : h["points"]) {
      EXPECT_GT(p["block"].get<uint64_t>(), last_block);  // oldest first, one per block
      last_block = p["block"].get<uint64_t>();
      EXPECT_EQ(p["uids"].size(), names.size());  // the validator and every miner
      EXPECT_EQ(p["incentive"].size(), names.size());
      EXPECT_EQ(p["emission"].size(), names.size());
      if (p["latency"]["count"].get<uint64_t>() > 0) {
        latency_seen = true;
        EXPECT_GT(p["latency"]["p50_ms"].get<double>(), 0);
        EXPECT_GE(p["latency"]["p99_ms"].get<double>(), p["latency"]["p50_ms"].get<double>());
      }
      for (const nlohmann::json& v : p["validators"]) {
        if (v["uid"] == uid["validator"]) validator_seen = true;
      }
    }
    EXPECT_TRUE(latency_seen) << "no point has the latency of the completions answered above";
    EXPECT_TRUE(validator_seen) << "the validator's trust is in no point";

    // Headless Chromium loads the page against this devnet: one row per
    // neuron with real numbers, and charts with data points
    // (tests/validator/dashboard_check.sh; a missing Chromium fails it).
    const CommandResult check =
        RunCommand(std::string("bash ") + AGORA_DASHBOARD_CHECK + " " + base + " 2>&1");
    const std::string& seen = check.out;
    EXPECT_EQ(check.status, 0) << seen;
    Log("dashboard_check:\n" + seen);
    // The good miner's row: "row uid=N incentive=X score=Y heldout_loss=Z ...".
    const std::string row = absl::StrCat("row uid=", uid["good"], " ");
    const size_t at = seen.rfind(row);
    ASSERT_NE(at, std::string::npos) << seen;
    double incentive = 0, score = 0, loss = 0;
    ASSERT_EQ(std::sscanf(seen.c_str() + at + row.size(), "incentive=%lf score=%lf heldout_loss=%lf", &incentive,
                          &score, &loss), 3) << seen;
    EXPECT_GT(incentive, 0) << seen;
    EXPECT_GT(score, 0) << seen;
    EXPECT_GT(loss, 0) << seen;
  }

  Log("paying by on-chain transfer: 402 before, credited after, debited per token");
  const std::string payer = "-H 'Authorization: Bearer sk-payer-0123456789abcdef' ";
  r = post(payer, "/v1/completions", R"({"prompt": "the ", "max_tokens": 8})");
  EXPECT_EQ(r.status, 402) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, EncodeAddress(hot["validator"]))) << "names where to pay: " << r.body;
  chain::TransferTx pay;
  pay.to = hot["validator"];
  pay.amount = 20'000;
  ASSERT_TRUE((*client)->Send(*owner, chain::kTxTransfer, pay).ok());
  nlohmann::json payer_account;
  for (auto until = Clock::now() + std::chrono::seconds(60); Clock::now() < until;) {
    HttpResult a = Curl(payer + base + "/v1/account");
    payer_account = nlohmann::json::parse(a.body, nullptr, false);
    if (payer_account.is_object() && payer_account.value("deposited_units", 0) == 20'000) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // polling the gateway
  }
  ASSERT_EQ(payer_account.value("deposited_units", 0), 20'000) << payer_account.dump();
  std::map<std::string, uint64_t> cold_before;  // any miner the gateway routes to may answer
  for (size_t i = 1; i < names.size(); ++i) {
    absl::StatusOr<chain::AccountInfo> acct = (*client)->Account(cold[names[i]]);
    ASSERT_TRUE(acct.ok());
    cold_before[names[i]] = acct->balance;
  }
  r = post(payer, "/v1/completions", R"({"prompt": "the ", "max_tokens": 8})");
  ASSERT_EQ(r.status, 200) << r.body;
  const nlohmann::json paid_answer = nlohmann::json::parse(r.body);
  const int paid_tokens = paid_answer["usage"]["completion_tokens"].get<int>();
  std::string earner;
  for (size_t i = 1; i < names.size(); ++i) {
    if (paid_answer["agora_receipt"]["hotkey"] == EncodeAddress(hot[names[i]])) earner = names[i];
  }
  ASSERT_FALSE(earner.empty()) << "answered by no miner of this test: " << r.body;
  Log("the paid answer came from " + earner);
  payer_account = nlohmann::json::parse(Curl(payer + base + "/v1/account").body);
  EXPECT_EQ(payer_account["balance_units"].get<int64_t>(), 20'000 - 1000 * paid_tokens) << payer_account.dump();

  Log("half the fee reaches the answering miner's coldkey on chain");
  const uint64_t share = 1000 * static_cast<uint64_t>(paid_tokens) / 2;
  uint64_t got = 0;
  for (auto until = Clock::now() + std::chrono::seconds(60); Clock::now() < until;) {
    absl::StatusOr<chain::AccountInfo> acct = (*client)->Account(cold[earner]);
    if (acct.ok()) got = acct->balance - cold_before[earner];
    if (got >= share) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // polling the chain
  }
  EXPECT_EQ(got, share) << validator->LogText();

  Log("agora query prints the answer and verifies its receipt (whole, and streamed)");
  for (const std::string extra : {"", " --stream", " --logprobs 1"}) {
    const CommandResult q = RunCommand(std::string(AGORA_CLI_BINARY) +
                                       " query 'the miner' --max-tokens 6 --gateway " + base +
                                       " --api-key sk-alice-0123456789abcdef" + extra + " 2>&1");
    const std::string& out = q.out;
    EXPECT_EQ(q.status, 0) << out;
    EXPECT_TRUE(absl::StrContains(out, "receipt: signature verified")) << out;
    Log("agora query" + extra + ": " + out);
  }
  {
    // Log-probabilities only: the echo's tokens printed, every signed
    // PredictReply verified.
    const CommandResult q = RunCommand(std::string(AGORA_CLI_BINARY) +
                                       " query 'the miner' --max-tokens 0 --echo --logprobs 2" +
                                       " --gateway " + base + " --api-key sk-alice-0123456789abcdef 2>&1");
    const std::string& out = q.out;
    EXPECT_EQ(q.status, 0) << out;
    EXPECT_TRUE(absl::StrContains(out, "receipt: 1 signature verified")) << out;
    EXPECT_TRUE(absl::StrContains(out, "  \"m\"  -")) << "the prompt's tokens and log-probabilities: " << out;
    EXPECT_TRUE(absl::StrContains(out, "top:")) << out;
    Log("agora query --max-tokens 0 --echo --logprobs 2: " + out);
  }
  EXPECT_EQ(post(alice, "/v1/completions", R"({"prompt": "still serving", "max_tokens": 2})").status, 200);

  // Customers' log-probability answers are re-run when their miner is not
  // cleared yet or the epoch's secret draws them (the audit below checks the
  // draws). The lazy miner answers echo requests first, with flat
  // distributions: it takes customers until a re-run catches it.
  Log("the lazy miner: flat log-probabilities for customers, until a re-run catches it");
  {
    std::set<std::string> seen;  // records already read (each is written once)
    size_t judged = 0, asked = 1;  // the echo request above
    bool caught = false;
    for (const auto until = Clock::now() + std::chrono::seconds(90); !caught && Clock::now() < until;) {
      HttpResult e = post(alice, "/v1/completions",
                          R"({"prompt": "the market answers", "max_tokens": 0, "echo": true, "logprobs": 1})");
      ++asked;
      const nlohmann::json j = nlohmann::json::parse(e.body, nullptr, false);
      if (e.status == 200 && j.is_object() && !j["agora_receipts"].empty() &&
          j["agora_receipts"][0]["hotkey"] == lazy_address) {
        ++lazy_answers;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));  // a customer's pace
      for (const std::string& f : RecordFiles(tmp.Sub("vali/records"))) {
        if (!seen.insert(f).second) continue;
        absl::StatusOr<std::string> text = ReadFile(f, 1 << 22);
        ASSERT_TRUE(text.ok()) << f;
        absl::StatusOr<nlohmann::json> rec = validator::VerifyRecord(*text);
        ASSERT_TRUE(rec.ok()) << f;
        for (const auto& o : (*rec)["organic"]) {
          if (!o.value("predict", false)) continue;
          EXPECT_TRUE(o.contains("rechecked") && o.contains("sample")) << o.dump();
          ++judged;
          if (o["hotkey"] == lazy_address) {
            caught = caught || o.contains("evidence");
          } else {
            EXPECT_FALSE(o.contains("evidence")) << "an honest miner's distribution: " << o.dump();
          }
        }
      }
    }
    EXPECT_GT(judged, 0u) << "no log-probability answer reached the validator";
    EXPECT_GT(lazy_answers, 0u) << "the lazy miner never answered first: the test shows nothing";
    EXPECT_TRUE(caught) << "the lazy miner answered " << lazy_answers << " of " << asked
                        << " echo requests and no re-run caught it";
    Log(absl::StrCat("the lazy miner answered ", lazy_answers, " of ", asked,
                     " echo requests before a re-run caught it"));
    EXPECT_TRUE(absl::StrContains(validator->LogText(), "predict (organic): distribution differs"))
        << "the evidence is logged";
  }

  // Before the kill -9, whose step may be cut short (a killed step's record
  // is written from its state only when the validator restarts).
  Log("agora-validator audit: the records recompute to the same averages and weights");
  {
    const CommandResult a = RunCommand(std::string(AGORA_VALIDATOR_BINARY) + " audit --json --records " +
                                       Quote(tmp.Sub("vali/records")));
    const std::string& out = a.out;
    EXPECT_EQ(a.status, 0) << out;
    const nlohmann::json audit = nlohmann::json::parse(out, nullptr, false);
    ASSERT_TRUE(audit.is_object()) << out;
    EXPECT_EQ(audit["ok"], true) << out;
    EXPECT_GT(audit["emas_checked"].get<uint64_t>(), 0u) << out;
    EXPECT_GT(audit["weights_checked"].get<uint64_t>(), 0u) << out;
    Log(absl::StrCat("audit: ", audit["records"].dump(), " records, ", audit["emas_checked"].dump(),
                     " moving-average steps and ", audit["weights_checked"].dump(),
                     " weight vectors recomputed"));
  }

  Log("kill -9 the validator and restart it");
  validator->Kill();
  std::filesystem::remove(tmp.Sub("validator.ready"));
  std::filesystem::remove(tmp.Sub("gateway.url"));
  validator = std::make_unique<Process>(vargv, tmp.Sub("validator.log"));
  validator->Start();
  ASSERT_TRUE(WaitForFile(tmp.Sub("validator.ready"), *validator, std::chrono::seconds(90)).ok())
      << validator->LogText();
  EXPECT_TRUE(absl::StrContains(validator->LogText(), "resuming at step")) << validator->LogText();
  w = weights_after(before + 6);
  EXPECT_FALSE(w.empty()) << validator->LogText();
  files = RecordFiles(tmp.Sub("vali/records"));
  ASSERT_GE(files.size(), before + 6);
  for (size_t i = before; i < files.size(); ++i) {
    absl::StatusOr<std::string> text = ReadFile(files[i], 1 << 22);
    ASSERT_TRUE(text.ok());
    absl::StatusOr<nlohmann::json> rec = validator::VerifyRecord(*text);
    ASSERT_TRUE(rec.ok());
    EXPECT_GT((*rec)["step"].get<uint64_t>(), before);
    for (const auto& c : (*rec)["challenges"]) {
      EXPECT_GT(c["offset"].get<uint64_t>(), last_offset) << "held-out text reused after restart";
    }
  }
  Log("the usage ledger survived the restart; no miner reachable is a 503");
  gw = ReadFile(tmp.Sub("gateway.url"), 256);
  ASSERT_TRUE(gw.ok());
  const std::string base2(absl::StripAsciiWhitespace(*gw));
  account = Curl(poor + base2 + "/v1/account");
  ASSERT_EQ(account.status, 200) << account.body;
  EXPECT_EQ(nlohmann::json::parse(account.body)["used_tokens"].get<int>(), 4) << account.body;
  {  // ten more blocks for the restarted gateway's scanner: a deposit it had not saved as seen would be credited again
    absl::StatusOr<chain::ChainStatus> now = (*client)->Status();
    ASSERT_TRUE(now.ok()) << now.status();
    ASSERT_TRUE((*client)->WaitForHeight(now->height + 10, std::chrono::seconds(60)).ok());
  }
  payer_account = nlohmann::json::parse(Curl(payer + base2 + "/v1/account").body);
  EXPECT_EQ(payer_account.value("deposited_units", 0), 20'000) << "credited once: " << payer_account.dump();
  EXPECT_EQ(payer_account["balance_units"].get<int64_t>(), 20'000 - 1000 * paid_tokens);
  for (auto& m : miners) m->Kill();
  r = Curl(alice + json_type + "-X POST --data-binary '{\"prompt\": \"anyone?\"}' " + base2 + "/v1/completions");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(error_of(r), "service_unavailable");
  validator->Signal(SIGTERM);
  EXPECT_EQ(validator->Wait(std::chrono::seconds(30)), 0) << validator->LogText();
}

INSTANTIATE_TEST_SUITE_P(WeightModes, ValidatorIntegrationTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "CommitReveal" : "SetWeights";
                         });

}  // namespace
}  // namespace agora
