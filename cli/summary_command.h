// `agora summary`: the market at a glance. Joins the chain's metagraph (what
// each uid earned in the last epoch) with a validator gateway's view of the
// same uids (the model each serves, its challenge loss and score), labelled
// with names from an optional labels file. The devnet prints it every epoch.
#ifndef AGORA_CLI_SUMMARY_COMMAND_H_
#define AGORA_CLI_SUMMARY_COMMAND_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cli/cli.h"

namespace agora::cli {

Command SummaryCommand();

// Parses a labels file: one "KEY LABEL..." per line, KEY an address or a
// model hash (hex), LABEL the rest of the line; blank lines and lines
// starting with '#' are skipped. InvalidArgument names the first bad line.
absl::StatusOr<std::map<std::string, std::string>> ParseLabels(absl::string_view text);

}  // namespace agora::cli

#endif  // AGORA_CLI_SUMMARY_COMMAND_H_
