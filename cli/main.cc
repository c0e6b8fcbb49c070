// agora: the command-line tool. A thin shell over agora_cli: the table below
// lists the command groups; each group lives in its own cli/*_commands.cc.
#include <iostream>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "cli/wallet_commands.h"

int main(int argc, char** argv) {
  agora::cli::Command root;
  root.name = "agora";
  root.summary = "Agora: wallets and (later) chain commands for the Agora model marketplace.";
  root.subcommands = {
      agora::cli::WalletCommand(),
  };
  const std::vector<std::string> args(argv + 1, argv + argc);
  return agora::cli::Run(root, args, std::cout, std::cerr);
}
