// `agora-chain epoch`: runs Yuma epochs from a JSON file (shared/design/yuma-io.md).
//
//   agora-chain epoch --input FILE.json            bare inputs object -> one JSON object;
//                                                  file with steps[] -> a JSON array, one
//                                                  output object per step
//   agora-chain epoch --input FILE.json --step K   steps[K] only -> one JSON object
//   agora-chain epoch --help                       usage on stdout, exit 0
//
// Exit status: 0 on success; 2 on bad usage or bad input, with exactly one line on stderr
// that names the offending flag or field (e.g. "steps[1].inputs.stake[2]: must be a
// non-negative integer, got -5"). Not thread-safe only in that it writes to the given streams.
#ifndef AGORA_CHAIN_EPOCH_CLI_H_
#define AGORA_CHAIN_EPOCH_CLI_H_

#include <ostream>
#include <string>
#include <vector>

namespace agora::chain {

// Exit statuses of the command.
inline constexpr int kEpochExitOk = 0;
inline constexpr int kEpochExitBadInput = 2;

// The usage text of `agora-chain epoch`.
std::string EpochUsage();

// Runs the command. `args` are the arguments after the subcommand name ("epoch"). Output goes
// to `out`, the one-line error to `err`. Returns the exit status.
int RunEpochCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// The same on argv, where argv[0] is the subcommand name ("epoch"); writes to stdout/stderr.
int RunEpochCommand(int argc, char** argv);

}  // namespace agora::chain

#endif  // AGORA_CHAIN_EPOCH_CLI_H_
