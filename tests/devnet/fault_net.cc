#include "tests/devnet/fault_net.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "chain/tx.h"
#include "common/address.h"
#include "common/file_util.h"
#include "common/keyfile.h"
#include "validator/score_record.h"

namespace agora::testing {
namespace {

using Clock = std::chrono::steady_clock;
constexpr char kPassword[] = "fault-test-password";

// A loopback port free right now. The chain binds it a moment later; it has
// to be fixed (not "*") so that a restarted chain is where its clients look.
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  close(fd);
  return port;
}

// Seeded text with real structure, so the tiny models differ measurably.
std::string Corpus() {
  static const char* kWords[] = {"the",  "market", "miner", "answers", "every", "question", "with",
                                 "a",    "model",  "that",  "learns",  "from",  "text",     "and",
                                 "stake", "weights", "flow", "to",     "those", "who",      "serve"};
  uint64_t x = 777;
  std::string out;
  for (int line = 0; line < 3000; ++line) {  // ~38 KB held out: far more than a test's steps use
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

// step-<N>.json, not the temporary a record is written through.
bool IsRecordFile(const std::filesystem::path& p) {
  const std::string name = p.filename().string();
  return name.rfind("step-", 0) == 0 && name.size() > 10 && name.substr(name.size() - 5) == ".json";
}

std::string Run(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

}  // namespace

FaultNet::FaultNet(FaultNetOptions options) : o_(options), password_(std::strlen(kPassword)) {
  std::memcpy(password_.data(), kPassword, password_.size());
}

FaultNet::~FaultNet() {
  // Validator first: it should not see its miners or chain go first and
  // log noise into a failing test's output.
  if (validator_) validator_->Kill();
  for (auto& [name, m] : miners_) {
    m->Signal(SIGCONT);  // a stopped child would not die before SIGCONT
    m->Kill();
  }
  if (chain_) chain_->Kill();
}

std::string FaultNet::LogOf(const std::string& name) const {
  absl::StatusOr<std::string> t = ReadFile(tmp_.Sub(name + ".log"), 1 << 22);
  return t.ok() ? *t : "";
}

absl::Status FaultNet::Start(const std::vector<FaultMinerSpec>& miners) {
  absl::Status s = WriteFileAtomic(tmp_.Sub("password"), std::string(kPassword) + "\n");
  if (!s.ok()) return s;
  store_ = std::make_unique<WalletStore>(tmp_.Sub("wallets"));
  std::vector<std::string> names = {"validator"};
  for (const FaultMinerSpec& m : miners) names.push_back(m.name);
  std::map<std::string, PublicKey> cold;
  for (const std::string& n : names) {
    absl::StatusOr<WalletInfo> w = store_->Create(n, "default", password_, kMinKdfParams);
    if (!w.ok()) return w.status();
    cold[n] = *w->coldkey.public_key;
    hot_[n] = *w->hotkeys.at(0).public_key;
  }
  absl::StatusOr<SigningKey> owner = SigningKey::FromSeed(Blake2b256("fault-test-owner"));
  if (!owner.ok()) return owner.status();
  std::string genesis = absl::StrCat("chain_id = \"fault-test\"\nblock_interval_ms = 100\n",
                                     "[[accounts]]\naddress = \"", EncodeAddress(owner->public_key()),
                                     "\"\nbalance = 1000000000000\n");
  for (const std::string& n : names) {
    absl::StrAppend(&genesis, "[[accounts]]\naddress = \"", EncodeAddress(cold[n]),
                    "\"\nbalance = 100000000000\n");
  }
  absl::StrAppend(&genesis, "[[subnets]]\nnetuid = 1\nname = \"faults\"\nowner = \"",
                  EncodeAddress(owner->public_key()), "\"\n",
                  "[subnets.params]\nburn = 1000000000\nmin_burn = 1000000\nmax_burn = 10000000000\n"
                  "serving_rate_limit = 0\nmax_regs_per_block = 10\ntempo = ", o_.tempo,
                  "\nweights_set_rate_limit = ", o_.weights_set_rate_limit,
                  "\nreveal_period_epochs = 1\ncommit_reveal = ", o_.commit_reveal ? "true" : "false", "\n");
  s = WriteFileAtomic(tmp_.Sub("genesis.toml"), genesis, 0644);
  if (!s.ok()) return s;
  std::filesystem::create_directories(tmp_.Sub("chain"));
  chain_port_ = FreePort();
  if (chain_port_ == 0) return absl::InternalError("no free loopback port");
  s = StartChain();
  if (!s.ok()) return s;

  // Train while the validator registers: the models are seconds of work.
  s = WriteFileAtomic(tmp_.Sub("corpus.txt"), Corpus(), 0644);
  if (!s.ok()) return s;
  std::vector<std::unique_ptr<Process>> training;
  for (const FaultMinerSpec& m : miners) {
    training.push_back(std::make_unique<Process>(
        std::vector<std::string>{AGORA_TRAIN_BINARY, "--corpus", tmp_.Sub("corpus.txt"), "--out",
                                 tmp_.Sub("model-" + m.name), "--context", "64", "--seed", "5",
                                 "--holdout-fraction", "0.3", "--holdout-out",
                                 tmp_.Sub("holdout-" + m.name + ".txt"), "--quiet", "--cpu", "--layers", "1",
                                 "--dim", absl::StrCat(m.dim), "--heads", "2", "--steps",
                                 absl::StrCat(m.train_steps), "--batch", "2"},
        tmp_.Sub(m.name + ".train.log")));
    training.back()->Start();
  }

  absl::StatusOr<SigningKey> vcold = store_->LoadColdkey("validator", password_);
  if (!vcold.ok()) return vcold.status();
  chain::RegisterTx reg;
  reg.netuid = 1;
  reg.hotkey = hot_["validator"];
  reg.max_burn = 10'000'000'000;
  absl::StatusOr<chain::TxReceiptMsg> r = client_->SendWhenAllowed(*vcold, chain::kTxRegister, reg);
  if (!r.ok()) return r.status();
  chain::StakeTx stake;
  stake.hotkey = hot_["validator"];
  stake.amount = 50'000'000'000;
  r = client_->Send(*vcold, chain::kTxAddStake, stake);
  if (!r.ok()) return r.status();

  for (size_t i = 0; i < miners.size(); ++i) {
    if (training[i]->Wait(std::chrono::seconds(120)) != 0) {
      return absl::InternalError(absl::StrCat("training ", miners[i].name, ":\n", training[i]->LogText()));
    }
  }
  for (const FaultMinerSpec& m : miners) {
    s = StartMiner(m);
    if (!s.ok()) return s;
  }
  for (const FaultMinerSpec& m : miners) {
    absl::StatusOr<std::string> ready =
        WaitForFile(tmp_.Sub(m.name + ".ready"), *miners_[m.name], std::chrono::seconds(90));
    if (!ready.ok()) return absl::Status(ready.status().code(), m.name + ": " + std::string(ready.status().message()));
    miner_ready_[m.name] = *ready;
  }
  absl::StatusOr<chain::Metagraph> mg = client_->GetMetagraph(1);
  if (!mg.ok()) return mg.status();
  for (const chain::NeuronInfo& n : mg->neurons) {
    for (const auto& [name, key] : hot_) {
      if (key == n.hotkey) uids_[name] = n.uid;
    }
  }
  if (uids_.size() != names.size()) return absl::InternalError("not every hotkey is registered");

  const std::string config = absl::StrCat(
      "wallet_dir = \"", tmp_.Sub("wallets"), "\"\nwallet = \"validator\"\n", "password_file = \"",
      tmp_.Sub("password"), "\"\nchain_url = \"", chain_url_, "\"\nnetuid = 1\n", "data_dir = \"",
      tmp_.Sub("vali"), "\"\nholdout = \"", tmp_.Sub("holdout-" + miners.front().name + ".txt"),
      "\"\n", "challenges = 4\nmin_prefix = 8\nmax_prefix = 24\nstep_interval_ms = ", o_.step_interval_ms,
      "\ntimeout_ms = ", o_.timeout_ms, "\nalpha = ", o_.alpha, "\nweights_interval = ", o_.weights_interval,
      "\ncpu = true\nchain_stall_ms = 1000\n",
      // The miners' 3-step models are all nearly uniform, so the derived-model
      // rule would count them as one model (docs/VALIDATOR.md "Duplicates");
      // these tests are about faults, not copies.
      "derived_tolerance = 0\n");
  s = WriteFileAtomic(tmp_.Sub("validator.toml"), config, 0644);
  if (!s.ok()) return s;
  return StartValidator();
}

absl::Status FaultNet::StartChain() {
  std::filesystem::remove(tmp_.Sub("chain/chain.url"));
  chain_ = std::make_unique<Process>(
      std::vector<std::string>{AGORA_CHAIN_BINARY, "run", "--genesis=" + tmp_.Sub("genesis.toml"),
                               "--data-dir=" + tmp_.Sub("chain"),
                               absl::StrCat("--endpoint=tcp://127.0.0.1:", chain_port_),
                               "--events-endpoint=tcp://127.0.0.1:*", "--block-interval-ms=100"},
      tmp_.Sub("chain.log"));
  chain_->Start();
  absl::StatusOr<std::string> url = WaitForFile(tmp_.Sub("chain/chain.url"), *chain_, std::chrono::seconds(30));
  if (!url.ok()) return url.status();
  const std::string fresh(absl::StripAsciiWhitespace(*url));
  if (!chain_url_.empty() && fresh != chain_url_) {
    return absl::InternalError("the restarted chain has another URL: " + fresh + " (was " + chain_url_ + ")");
  }
  chain_url_ = fresh;
  absl::StatusOr<std::unique_ptr<chain::ChainClient>> c = chain::ChainClient::Connect(chain_url_);
  if (!c.ok()) return c.status();
  client_ = std::move(*c);
  return absl::OkStatus();
}

void FaultNet::KillChain() { chain_->Kill(); }

absl::Status FaultNet::StartMiner(const FaultMinerSpec& spec) {
  std::vector<std::string> argv;
  if (spec.faketime) {
    absl::Status s = SetClockOffset(spec.name, "+0");
    if (!s.ok()) return s;
    // Only the wall clock is shifted (DONT_FAKE_MONOTONIC): a skewed clock,
    // not a process whose timers all jump. NO_CACHE: the offset file is
    // re-read on every call, so the skew can be switched on and off.
    argv = {"/usr/bin/env", absl::StrCat("LD_PRELOAD=", AGORA_LIBFAKETIME),
            "FAKETIME_TIMESTAMP_FILE=" + tmp_.Sub(spec.name + ".faketime"), "FAKETIME_NO_CACHE=1",
            "DONT_FAKE_MONOTONIC=1"};
  }
  const std::vector<std::string> common = {
      AGORA_MINER_BINARY, "--wallet-dir", tmp_.Sub("wallets"), "--wallet", spec.name,
      "--password-file", tmp_.Sub("password"), "--chain-url", chain_url_, "--netuid", "1", "--register",
      "--endpoint", "tcp://127.0.0.1:*", "--cpu", "--metagraph-refresh-ms", "300", "--metrics-port", "0",
      "--checkpoint", tmp_.Sub("model-" + spec.name), "--ready-file", tmp_.Sub(spec.name + ".ready")};
  argv.insert(argv.end(), common.begin(), common.end());
  argv.insert(argv.end(), spec.extra_args.begin(), spec.extra_args.end());
  miners_[spec.name] = std::make_unique<Process>(argv, tmp_.Sub(spec.name + ".log"));
  miners_[spec.name]->Start();
  return absl::OkStatus();
}

void FaultNet::KillValidator() { validator_->Kill(); }

absl::Status FaultNet::StartValidator() {
  std::filesystem::remove(tmp_.Sub("validator.ready"));
  validator_ = std::make_unique<Process>(
      std::vector<std::string>{AGORA_VALIDATOR_BINARY, "--config", tmp_.Sub("validator.toml"),
                               "--ready-file", tmp_.Sub("validator.ready")},
      tmp_.Sub("validator.log"));
  validator_->Start();
  absl::StatusOr<std::string> ready =
      WaitForFile(tmp_.Sub("validator.ready"), *validator_, std::chrono::seconds(90));
  return ready.ok() ? absl::OkStatus() : ready.status();
}

absl::StatusOr<SigningKey> FaultNet::ValidatorHotkey() const {
  return store_->LoadHotkey("validator", "default", password_);
}

protocol::Peer FaultNet::MinerPeer(const std::string& name) const {
  // Ready file: "<address>@<endpoint>\n<metrics port>\n".
  const std::string& ready = miner_ready_.at(name);
  const std::string first = ready.substr(0, ready.find('\n'));
  return protocol::Peer{first.substr(first.find('@') + 1), hot_.at(name)};
}

std::string FaultNet::MinerMetrics(const std::string& name) const {
  const std::vector<std::string> lines = absl::StrSplit(miner_ready_.at(name), '\n');
  if (lines.size() < 2) return "";
  return Run(absl::StrCat("curl -s -m 5 http://127.0.0.1:", lines[1], "/metrics"));
}

absl::Status FaultNet::SetClockOffset(const std::string& name, const std::string& offset) {
  return WriteFileAtomic(tmp_.Sub(name + ".faketime"), offset + "\n", 0644);
}

std::vector<nlohmann::json> FaultNet::Records() const {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(tmp_.Sub("vali/records"), ec)) {
    if (IsRecordFile(e.path())) files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());  // step-<10 digits>.json: name order is step order
  std::vector<nlohmann::json> out;
  for (const std::string& f : files) {
    absl::StatusOr<std::string> text = ReadFile(f, 1 << 22);
    if (!text.ok()) continue;
    absl::StatusOr<nlohmann::json> rec = validator::VerifyRecord(*text);
    if (rec.ok()) out.push_back(std::move(*rec));
  }
  return out;
}

size_t FaultNet::RecordCount() const {
  size_t n = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(tmp_.Sub("vali/records"), ec)) {
    if (IsRecordFile(e.path())) ++n;
  }
  return n;
}

bool FaultNet::WaitForRecords(size_t n, std::chrono::seconds timeout) {
  const auto until = Clock::now() + timeout;
  while (Clock::now() < until) {
    if (RecordCount() >= n) return true;
    if (!validator_->Running()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling the records
  }
  return false;
}

nlohmann::json FaultNet::MinerEntry(const nlohmann::json& record, const std::string& name) const {
  const uint16_t uid = uids_.at(name);
  for (const nlohmann::json& m : record["miners"]) {
    if (m["uid"].get<uint16_t>() == uid) return m;
  }
  return nullptr;
}

}  // namespace agora::testing
