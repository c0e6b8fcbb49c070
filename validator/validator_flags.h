// The agora-validator command line: every flag is also a key of the TOML
// file named by --config (cli/config_file.h); a flag given on the command
// line wins over the file.
#ifndef AGORA_VALIDATOR_VALIDATOR_FLAGS_H_
#define AGORA_VALIDATOR_VALIDATOR_FLAGS_H_

#include <vector>

#include "absl/status/statusor.h"
#include "cli/cli.h"
#include "validator/validator.h"

namespace agora::validator {

std::vector<cli::FlagSpec> ValidatorFlagSpecs();
absl::StatusOr<ValidatorOptions> OptionsFromFlags(const cli::ParsedFlags& flags);
// main() of agora-validator: parses, runs until SIGINT/SIGTERM, returns the exit code.
int RunValidatorCommand(int argc, char** argv);

}  // namespace agora::validator

#endif  // AGORA_VALIDATOR_VALIDATOR_FLAGS_H_
