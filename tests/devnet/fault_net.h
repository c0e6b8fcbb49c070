// A small devnet for the fault tests (devnet_fault_test.cc), built from the
// real binaries on loopback: agora-chain on a fixed port (so it can be killed
// and restarted where its clients expect it), a validator hotkey registered
// and staked by the test, miners serving tiny agora-train models of their own
// (distinct weights, so none is a duplicate of another), and agora-validator
// with short steps and no gateway. Every process is a testing::Process: its
// output in <dir>/<name>.log, SIGKILLed when the FaultNet goes.
//
// Thread-compatible; one per test.
#ifndef AGORA_TESTS_DEVNET_FAULT_NET_H_
#define AGORA_TESTS_DEVNET_FAULT_NET_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "chain/client.h"
#include "common/crypto.h"
#include "common/wallet.h"
#include "protocol/zmq_client.h"
#include "tests/common/child_process.h"
#include "tests/common/temp_dir.h"

namespace agora::testing {

struct FaultMinerSpec {
  std::string name;
  uint32_t train_steps = 3;  // tiny and quick; distinct per miner via `dim`
  uint32_t dim = 16;
  std::vector<std::string> extra_args = {};  // e.g. {"--mode", "slow", "--delay-ms", "500"}
  // Run under libfaketime with its offset read from <dir>/<name>.faketime
  // (written "+0" at start; SetClockOffset changes it while it runs).
  bool faketime = false;
};

struct FaultNetOptions {
  bool commit_reveal = false;
  uint64_t weights_interval = 6;  // blocks (100 ms each)
  uint64_t tempo = 10;
  uint64_t weights_set_rate_limit = 3;
  int64_t timeout_ms = 1500;      // the validator's deadline per step
  int64_t step_interval_ms = 200;
  double alpha = 0.3;
};

class FaultNet {
 public:
  explicit FaultNet(FaultNetOptions options = {});
  ~FaultNet();

  // Wallets, genesis, chain, the validator's registration and stake, the
  // miners' models, the miners (each ready) and the validator (ready: its
  // first step done).
  absl::Status Start(const std::vector<FaultMinerSpec>& miners);

  // kill -9 / start again on the same data directory and port.
  void KillChain();
  absl::Status StartChain();
  void KillValidator();
  absl::Status StartValidator();

  Process& miner(const std::string& name) { return *miners_.at(name); }
  Process& validator() { return *validator_; }
  Process& chain_process() { return *chain_; }
  chain::ChainClient& chain() { return *client_; }
  const std::string& dir() const { return tmp_.path(); }
  std::string LogOf(const std::string& name) const;  // "chain", "validator" or a miner

  uint16_t Uid(const std::string& name) const { return uids_.at(name); }
  const PublicKey& Hotkey(const std::string& name) const { return hot_.at(name); }
  // The validator's hotkey, as the test may sign with it.
  absl::StatusOr<SigningKey> ValidatorHotkey() const;
  protocol::Peer MinerPeer(const std::string& name) const;
  // The miner's /metrics text (started with --metrics-port 0).
  std::string MinerMetrics(const std::string& name) const;
  // Sets a faketime miner's clock offset, e.g. "+120s" or "+0".
  absl::Status SetClockOffset(const std::string& name, const std::string& offset);

  // The validator's verified score records, in step order.
  std::vector<nlohmann::json> Records() const;
  size_t RecordCount() const;
  // Waits until there are at least `n` records; false on timeout or if the
  // validator exited.
  bool WaitForRecords(size_t n, std::chrono::seconds timeout);
  // The entry of `name` in a record's "miners", or null.
  nlohmann::json MinerEntry(const nlohmann::json& record, const std::string& name) const;

 private:
  absl::Status StartMiner(const FaultMinerSpec& spec);

  const FaultNetOptions o_;
  TempDir tmp_;
  int chain_port_ = 0;
  std::string chain_url_;
  std::unique_ptr<WalletStore> store_;
  SecretBytes password_;
  std::map<std::string, PublicKey> hot_;
  std::map<std::string, uint16_t> uids_;
  std::map<std::string, std::string> miner_ready_;  // ready file text
  std::unique_ptr<Process> chain_;
  std::unique_ptr<chain::ChainClient> client_;
  std::map<std::string, std::unique_ptr<Process>> miners_;
  std::unique_ptr<Process> validator_;
};

}  // namespace agora::testing

#endif  // AGORA_TESTS_DEVNET_FAULT_NET_H_
