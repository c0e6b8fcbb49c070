// The agora-miner command line: every flag is also a key of the TOML file
// named by --config (flag "--max-batch" is key "max_batch"); a flag given on
// the command line wins over the file. Unknown keys and bad values are usage
// errors naming the key.
#ifndef AGORA_MINER_MINER_FLAGS_H_
#define AGORA_MINER_MINER_FLAGS_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cli/cli.h"
#include "miner/miner.h"

namespace agora::miner {

// The flag table of agora-miner.
std::vector<cli::FlagSpec> MinerFlagSpecs();
// The options the merged flags describe.
absl::StatusOr<MinerOptions> OptionsFromFlags(const cli::ParsedFlags& flags);

// main() of agora-miner: parses, runs until SIGINT/SIGTERM, returns the exit code.
int RunMinerCommand(int argc, char** argv);

}  // namespace agora::miner

#endif  // AGORA_MINER_MINER_FLAGS_H_
