#include "cli/cli.h"

#include <algorithm>
#include <optional>
#include <ostream>
#include <set>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_split.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace agora::cli {
namespace {

constexpr absl::string_view kUsagePayloadUrl = "type.agora/cli.usage";

bool IsHelp(absl::string_view arg) { return arg == "--help" || arg == "-h"; }

const FlagSpec* FindFlag(const Command& command, absl::string_view name) {
  for (const FlagSpec& f : command.flags) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

const Command* FindSubcommand(const Command& group, absl::string_view name) {
  for (const Command& c : group.subcommands) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

// Shows user input inside a one-line message.
std::string Shown(absl::string_view arg) { return absl::CEscape(arg.substr(0, 80)); }

absl::StatusOr<ParsedFlags> ParseFlags(const Command& command, const std::vector<std::string>& args,
                                       size_t begin) {
  ParsedFlags flags;
  std::set<std::string> seen;
  for (size_t i = begin; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (!absl::StartsWith(arg, "--") || arg.size() == 2) {
      const FlagSpec* slot = nullptr;
      for (const FlagSpec& f : command.flags) {
        if (f.positional && !seen.count(f.name) && slot == nullptr) slot = &f;
      }
      if (slot == nullptr) return UsageError(absl::StrCat("unexpected argument '", Shown(arg), "'"));
      seen.insert(slot->name);
      flags.Set(slot->name, std::string(arg));
      continue;
    }
    arg.remove_prefix(2);
    std::optional<std::string> inline_value;
    if (const size_t eq = arg.find('='); eq != absl::string_view::npos) {
      inline_value = std::string(arg.substr(eq + 1));
      arg = arg.substr(0, eq);
    }
    const FlagSpec* spec = FindFlag(command, arg);
    if (spec == nullptr) return UsageError(absl::StrCat("unknown flag '--", Shown(arg), "'"));
    if (!seen.insert(spec->name).second) {
      return UsageError(absl::StrCat("flag --", spec->name, " given more than once"));
    }
    if (spec->value_name.empty()) {
      if (inline_value.has_value()) {
        return UsageError(absl::StrCat("flag --", spec->name, " takes no value"));
      }
      flags.Set(spec->name, "true");
      continue;
    }
    if (!inline_value.has_value()) {
      if (i + 1 >= args.size()) {
        return UsageError(absl::StrCat("flag --", spec->name, " needs a value ", spec->value_name));
      }
      inline_value = args[++i];
    }
    flags.Set(spec->name, *std::move(inline_value));
  }
  for (const FlagSpec& f : command.flags) {
    if (f.required && !flags.Has(f.name) && f.positional) {
      return UsageError(absl::StrCat("missing argument ", f.value_name));
    }
    if (f.required && !flags.Has(f.name)) {
      return UsageError(absl::StrCat("missing required flag --", f.name, " ", f.value_name));
    }
  }
  return flags;
}

// Prints `status` as one line and maps it to an exit code.
int Report(const absl::Status& status, absl::string_view path, std::ostream& err) {
  if (status.ok()) return kExitOk;
  std::string message = absl::StrReplaceAll(status.message(), {{"\n", " "}, {"\r", " "}});
  // Named by the program that failed ("agora-miner: error: ..."): its path's first word.
  const absl::string_view program = path.substr(0, path.find(' '));
  if (IsUsageError(status)) {
    err << program << ": error: " << message << " (see '" << path << " --help')\n";
    return kExitUsage;
  }
  err << program << ": error: " << message << "\n";
  return kExitFailure;
}

}  // namespace

std::string ParsedFlags::Get(absl::string_view name, absl::string_view fallback) const {
  auto it = values_.find(std::string(name));
  return it == values_.end() ? std::string(fallback) : it->second;
}

std::vector<std::string> CommaList(absl::string_view value) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(value, ',', absl::SkipWhitespace())) {
    out.emplace_back(absl::StripAsciiWhitespace(part));
  }
  return out;
}

absl::Status UsageError(absl::string_view message) {
  absl::Status s = absl::InvalidArgumentError(message);
  s.SetPayload(kUsagePayloadUrl, absl::Cord("1"));
  return s;
}

bool IsUsageError(const absl::Status& status) {
  return status.GetPayload(kUsagePayloadUrl).has_value();
}

std::string HelpText(const Command& command, absl::string_view path) {
  std::string out;
  const bool group = !command.subcommands.empty();
  std::string positional;
  for (const FlagSpec& f : command.flags) {
    if (f.positional) absl::StrAppend(&positional, " ", f.value_name);
  }
  absl::StrAppend(&out, "Usage: ", path, group ? " <command>" : "",
                  command.flags.empty() ? "" : " [flags]", positional, "\n\n");
  absl::StrAppend(&out, command.summary, "\n");
  if (!command.description.empty()) absl::StrAppend(&out, "\n", command.description, "\n");
  if (group) {
    absl::StrAppend(&out, "\nCommands:\n");
    size_t width = 0;
    for (const Command& c : command.subcommands) width = std::max(width, c.name.size());
    for (const Command& c : command.subcommands) {
      absl::StrAppend(&out, "  ", c.name, std::string(width - c.name.size() + 3, ' '), c.summary,
                      "\n");
    }
    absl::StrAppend(&out, "\nRun '", path, " <command> --help' for more about a command.\n");
  }
  std::vector<std::pair<std::string, std::string>> rows;
  for (const FlagSpec& f : command.flags) {
    if (f.positional) {
      rows.emplace_back(f.value_name, absl::StrCat(f.help, f.required ? " (required)" : ""));
      continue;
    }
    rows.emplace_back(absl::StrCat("--", f.name, f.value_name.empty() ? "" : " ", f.value_name),
                      absl::StrCat(f.help, f.required ? " (required)" : ""));
  }
  rows.emplace_back("--help", "Show this help and exit.");
  size_t width = 0;
  for (const auto& row : rows) width = std::max(width, row.first.size());
  absl::StrAppend(&out, "\nFlags:\n");
  for (const auto& [left, help] : rows) {
    absl::StrAppend(&out, "  ", left, std::string(width - left.size() + 3, ' '), help, "\n");
  }
  return out;
}

int Run(const Command& root, const std::vector<std::string>& args, std::ostream& out,
        std::ostream& err) {
  const Command* node = &root;
  std::string path = root.name;
  size_t i = 0;
  while (!node->subcommands.empty()) {
    if (i == args.size()) {
      err << HelpText(*node, path);
      return kExitUsage;
    }
    if (IsHelp(args[i])) {
      out << HelpText(*node, path);
      return kExitOk;
    }
    const Command* next = FindSubcommand(*node, args[i]);
    if (next == nullptr) {
      return Report(UsageError(absl::StrCat(
                        absl::StartsWith(args[i], "-") ? "unknown flag '" : "unknown command '",
                        Shown(args[i]), "'")),
                    path, err);
    }
    node = next;
    path = absl::StrCat(path, " ", node->name);
    ++i;
  }
  if (std::any_of(args.begin() + static_cast<std::ptrdiff_t>(i), args.end(),
                  [](const std::string& a) { return IsHelp(a); })) {
    out << HelpText(*node, path);
    return kExitOk;
  }
  if (!node->handler) return Report(absl::InternalError("command has no handler"), path, err);
  absl::StatusOr<ParsedFlags> flags = ParseFlags(*node, args, i);
  if (!flags.ok()) return Report(flags.status(), path, err);
  Context ctx{out, err};
  return Report(node->handler(*flags, ctx), path, err);
}

}  // namespace agora::cli
