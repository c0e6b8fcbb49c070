// agora: the command-line tool. A thin shell over agora_cli: the table below
// lists the command groups; each group lives in its own cli/*_commands.cc.
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "cli/chain_commands.h"
#include "cli/cli.h"
#include "cli/wallet_commands.h"
#ifdef AGORA_WITH_QUERY
#include "cli/query_command.h"
#include "cli/summary_command.h"
#endif

int main(int argc, char** argv) {
  agora::cli::Command root;
  root.name = "agora";
  root.summary = "Agora: wallets and chain commands for the Agora model marketplace.";
  root.subcommands = {
      agora::cli::WalletCommand(),
  };
  for (agora::cli::Command& c : agora::cli::ChainCommands()) {
    root.subcommands.push_back(std::move(c));
  }
#ifdef AGORA_WITH_QUERY
  root.subcommands.push_back(agora::cli::QueryCommand());
  root.subcommands.push_back(agora::cli::SummaryCommand());
#endif
  const std::vector<std::string> args(argv + 1, argv + argc);
  return agora::cli::Run(root, args, std::cout, std::cerr);
}
