// The `agora` command-line dispatcher: a tree of commands, each a row of
// {name, summary, flags, handler}. Groups ("wallet") hold subcommands; leaves
// hold a handler. Other areas add their commands by contributing one more
// Command to the table in cli/main.cc (see WalletCommand() for an example).
//
// Flags are parsed by hand here (absl::flags is global state and awkward for
// subcommands): "--name VALUE", "--name=VALUE", and "--json" for switches.
// Unknown flags, missing values, repeated flags and positional arguments are
// usage errors. "--help" or "-h" anywhere prints the help of the command it
// follows and exits 0.
//
// Exit codes: 0 success, 1 the command failed, 2 usage error. Errors are one
// line on stderr: "agora: error: <message>".
//
// Thread-compatible: Run() is meant for one call from main().
#ifndef AGORA_CLI_CLI_H_
#define AGORA_CLI_CLI_H_

#include <functional>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace agora::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

struct FlagSpec {
  std::string name;        // without the leading "--"
  std::string value_name;  // e.g. "NAME"; empty for a switch that takes no value
  std::string help;
  bool required = false;
  // A positional argument instead of a flag ("agora query PROMPT"): filled
  // by the first bare argument, in the order of the table; read with Get(name).
  bool positional = false;
};

// The flags given to one command, already checked against its FlagSpecs.
class ParsedFlags {
 public:
  bool Has(absl::string_view name) const { return values_.count(std::string(name)) > 0; }
  // The value of `name`, or `fallback` if it was not given.
  std::string Get(absl::string_view name, absl::string_view fallback = "") const;
  void Set(std::string name, std::string value) { values_[std::move(name)] = std::move(value); }

 private:
  std::map<std::string, std::string> values_;
};

// What a handler may use: its output streams.
struct Context {
  std::ostream& out;
  std::ostream& err;
};

// A handler returns OK, a UsageError (exit 2) or any other error (exit 1).
using Handler = std::function<absl::Status(const ParsedFlags& flags, Context& ctx)>;

struct Command {
  std::string name;
  std::string summary;               // one line, shown in the parent's help
  std::string description;           // optional longer text for this command's help
  std::vector<FlagSpec> flags;       // leaves only
  Handler handler;                   // leaves only
  std::vector<Command> subcommands;  // groups only
};

// An InvalidArgument status marked as a usage error, so Run() exits with 2.
absl::Status UsageError(absl::string_view message);

// A flag's comma-separated list ("a, b,c"), each item trimmed, empty ones dropped.
std::vector<std::string> CommaList(absl::string_view value);
bool IsUsageError(const absl::Status& status);

// Runs the command line `args` (without argv[0]) against the tree `root`.
// Returns the process exit code; prints help, results and errors to out/err.
int Run(const Command& root, const std::vector<std::string>& args, std::ostream& out,
        std::ostream& err);

// The help text of `command`; `path` is the command line that reaches it ("agora wallet").
std::string HelpText(const Command& command, absl::string_view path);

}  // namespace agora::cli

#endif  // AGORA_CLI_CLI_H_
