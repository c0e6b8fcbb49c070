#include "chain/run_command.h"

#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "chain/node.h"
#include "cli/cli.h"

namespace agora::chain {
namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop.store(true); }

absl::Status RunFromFlags(const cli::ParsedFlags& flags, cli::Context& ctx) {
  ChainNodeOptions o;
  o.genesis_path = flags.Get("genesis", o.genesis_path);
  o.data_dir = flags.Get("data-dir", o.data_dir);
  o.endpoint = flags.Get("endpoint", o.endpoint);
  o.events_endpoint = flags.Get("events-endpoint", o.events_endpoint);
  if (flags.Has("block-interval-ms")) {
    uint64_t ms = 0;
    if (!absl::SimpleAtoi(flags.Get("block-interval-ms"), &ms) || ms < 10 || ms > 600'000) {
      return cli::UsageError("--block-interval-ms must be an integer in [10, 600000]");
    }
    o.block_interval_ms = ms;
  }
  if (flags.Has("workers")) {
    if (!absl::SimpleAtoi(flags.Get("workers"), &o.workers) || o.workers < 1 || o.workers > 1024) {
      return cli::UsageError("--workers must be an integer in [1, 1024]");
    }
  }
  if (flags.Has("snapshot-every")) {
    if (!absl::SimpleAtoi(flags.Get("snapshot-every"), &o.snapshot_every_blocks)) {
      return cli::UsageError("--snapshot-every must be a number of blocks (0: never)");
    }
  }
  o.curve = !flags.Has("no-curve");
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  return RunChainNode(o, &g_stop);
}

}  // namespace

int RunNodeCommand(int argc, char** argv) {
  const ChainNodeOptions defaults;
  cli::Command run{
      "agora-chain run",
      "run the chain node",
      "Runs the embedded dev chain: produces a block every block interval, runs Yuma\n"
      "Consensus epochs, serves signed transactions and queries over ZeroMQ and\n"
      "announces blocks on a PUB socket. State lives in <data-dir>/chain.db (SQLite);\n"
      "a restarted node continues from the same height. The node's URL for clients\n"
      "is written to <data-dir>/chain.url. Stops cleanly on SIGINT or SIGTERM.",
      {
          {"genesis", "FILE", "genesis config (default " + defaults.genesis_path + ")"},
          {"data-dir", "DIR", "where state lives (default " + defaults.data_dir + ")"},
          {"endpoint", "ENDPOINT", "request endpoint (default " + defaults.endpoint + ")"},
          {"events-endpoint", "ENDPOINT",
           "block events PUB endpoint (default " + defaults.events_endpoint + ")"},
          {"block-interval-ms", "MS", "override the genesis block interval"},
          {"workers", "N", absl::StrCat("handler threads (default ", defaults.workers, ")")},
          {"snapshot-every", "BLOCKS",
           absl::StrCat("state snapshot interval (default ", defaults.snapshot_every_blocks, ")")},
          {"no-curve", "", "serve without CurveZMQ encryption (clients must match)"},
      },
      &RunFromFlags,
      {}};
  std::vector<std::string> args(argv + 1, argv + argc);
  return cli::Run(run, args, std::cout, std::cerr);
}

}  // namespace agora::chain
