// The chain commands of `agora`: thin handlers over chain/client.h that read
// flags (cli/chain_args.h), talk to agora-chain and print text or JSON.
//
//   agora balance    --address ADDR | --name WALLET          [--json]
//   agora transfer   --name WALLET --to ADDR --amount X      [--json]
//   agora register   --name WALLET [--hotkey H] --netuid N [--pow] [--max-burn X] [--json]
//   agora serve      --name WALLET [--hotkey H] --netuid N --endpoint tcp://host:port [--json]
//   agora register-model --name WALLET [--hotkey H] --netuid N --hash HEX64 --size BYTES
//                    --format agora-gpt|torchscript [--tokenizer-hash HEX64] [--json]
//   agora stake add|remove --name WALLET [--hotkey H | --hotkey-address ADDR] --amount X
//   agora metagraph  --netuid N [--validators] [--json]
//   agora weights    --netuid N [--uid U | --hotkey-address ADDR] [--json]
//   agora chain status [--json]
//
// Every one takes --chain URL, --no-curve and --timeout-ms; those that use a
// wallet take --wallet-dir, --password-file and --password-env. Amounts are
// tokens with up to 9 decimals (cli/amount.h). A refusal by the chain is one
// line "agora: error: <reason>: <detail>" with the chain's stable reason
// string (chain/tx_reject.h). docs/CLI.md has an example of each.
#ifndef AGORA_CLI_CHAIN_COMMANDS_H_
#define AGORA_CLI_CHAIN_COMMANDS_H_

#include <vector>

#include "cli/cli.h"

namespace agora::cli {

// Every chain command, in the order of the table in cli/main.cc.
std::vector<Command> ChainCommands();

// The commands one by one (chain_commands.cc, register_command.cc, serve_command.cc,
// register_model_command.cc, metagraph_commands.cc).
Command BalanceCommand();
Command TransferCommand();
Command RegisterCommand();
Command ServeCommand();  // serve_command.cc
Command RegisterModelCommand();  // register_model_command.cc
Command StakeCommand();
Command MetagraphCommand();
Command WeightsCommand();
Command ChainStatusCommand();  // the "chain" group with "status"

}  // namespace agora::cli

#endif  // AGORA_CLI_CHAIN_COMMANDS_H_
