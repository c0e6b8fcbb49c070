// `agora-chain run`: starts the chain node (chain/node.h) from flags, stops
// it cleanly on SIGINT/SIGTERM.
#ifndef AGORA_CHAIN_RUN_COMMAND_H_
#define AGORA_CHAIN_RUN_COMMAND_H_

namespace agora::chain {

// argv[0] is "run". Returns the process exit code.
int RunNodeCommand(int argc, char** argv);

}  // namespace agora::chain

#endif  // AGORA_CHAIN_RUN_COMMAND_H_
