// `agora query PROMPT`: asks a validator's gateway (HTTP) for a completion,
// prints the answer and its receipt, and checks the receipt's signature
// with the answering miner's hotkey (validator/receipt.h).
#ifndef AGORA_CLI_QUERY_COMMAND_H_
#define AGORA_CLI_QUERY_COMMAND_H_

#include "cli/cli.h"

namespace agora::cli {

Command QueryCommand();

}  // namespace agora::cli

#endif  // AGORA_CLI_QUERY_COMMAND_H_
