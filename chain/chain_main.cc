// agora-chain: the chain binary. A thin shell over the chain libraries: it picks a subcommand
// and hands it the remaining arguments: `run` (the node, chain/run_command.h) and `epoch` (Yuma
// epochs from JSON, chain/epoch_cli.h). A new subcommand is one more entry in kCommands.
#include <cstdio>
#include <cstring>
#include <string_view>

#include "chain/epoch_cli.h"
#include "chain/run_command.h"

namespace {

struct Command {
  std::string_view name;
  std::string_view summary;
  // argv[0] is the subcommand name.
  int (*run)(int argc, char** argv);
};

constexpr Command kCommands[] = {
    {"run", "run the chain node (run --help)", &agora::chain::RunNodeCommand},
    {"epoch", "run Yuma Consensus epochs from a JSON file (epoch --help)",
     &agora::chain::RunEpochCommand},
};

constexpr int kExitUsage = 2;

void PrintUsage(std::FILE* to) {
  std::fprintf(to, "usage: agora-chain COMMAND [ARGS...]\n\ncommands:\n");
  for (const Command& c : kCommands) {
    std::fprintf(to, "  %-8.*s %.*s\n", static_cast<int>(c.name.size()), c.name.data(),
                 static_cast<int>(c.summary.size()), c.summary.data());
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    PrintUsage(stderr);
    return kExitUsage;
  }
  const std::string_view name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    PrintUsage(stdout);
    return 0;
  }
  for (const Command& c : kCommands) {
    if (c.name == name) return c.run(argc - 1, argv + 1);
  }
  std::fprintf(stderr, "agora-chain: unknown command '%s'\n", argv[1]);
  PrintUsage(stderr);
  return kExitUsage;
}
