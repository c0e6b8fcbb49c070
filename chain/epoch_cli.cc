#include "chain/epoch_cli.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "chain/epoch_json.h"
#include "chain/yuma.h"

namespace agora::chain {
namespace {

struct EpochFlags {
  std::string input;
  std::optional<size_t> step;
  bool help = false;
};

absl::StatusOr<size_t> ParseStep(absl::string_view text) {
  size_t k = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), k);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--step: must be a non-negative integer, got '", text, "'"));
  }
  return k;
}

absl::StatusOr<EpochFlags> ParseFlags(const std::vector<std::string>& args) {
  EpochFlags flags;
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      flags.help = true;
      continue;
    }
    absl::string_view name = arg;
    std::optional<absl::string_view> value;
    if (const size_t eq = arg.find('=');
        absl::StartsWith(arg, "--") && eq != absl::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    if (name != "--input" && name != "--step") {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown argument '", arg, "' (see agora-chain epoch --help)"));
    }
    if (!value) {
      if (i + 1 == args.size()) {
        return absl::InvalidArgumentError(absl::StrCat(name, ": missing value"));
      }
      value = args[++i];
    }
    if (name == "--input") {
      flags.input = std::string(*value);
    } else {
      absl::StatusOr<size_t> k = ParseStep(*value);
      if (!k.ok()) return k.status();
      flags.step = *k;
    }
  }
  if (!flags.help && flags.input.empty()) {
    return absl::InvalidArgumentError("--input: missing (see agora-chain epoch --help)");
  }
  return flags;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("--input: cannot open '", path, "': ", std::strerror(errno)));
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad())
    return absl::InvalidArgumentError(absl::StrCat("--input: cannot read '", path, "'"));
  return text;
}

absl::StatusOr<nlohmann::ordered_json> RunStep(const nlohmann::json& inputs,
                                               absl::string_view path) {
  absl::StatusOr<EpochInput> input =
      EpochInputFromJson(inputs, std::string_view(path.data(), path.size()));
  if (!input.ok()) return input.status();
  absl::StatusOr<EpochOutput> output = RunEpoch(*input);
  if (!output.ok())
    return absl::InvalidArgumentError(absl::StrCat(path, output.status().message()));
  return EpochOutputToJson(*output);
}

// Everything after flag parsing: returns the JSON to print, or the error to report.
absl::StatusOr<nlohmann::ordered_json> Run(const EpochFlags& flags) {
  absl::StatusOr<std::string> text = ReadFile(flags.input);
  if (!text.ok()) return text.status();
  absl::StatusOr<nlohmann::json> doc = ParseJson(*text);
  if (!doc.ok()) return doc.status();
  absl::StatusOr<EpochSteps> steps = FindEpochSteps(*doc);
  if (!steps.ok()) return steps.status();
  auto path_of = [&](size_t k) {
    return steps->has_steps ? absl::StrFormat("steps[%d].inputs.", k) : std::string();
  };
  if (flags.step.has_value()) {
    const size_t k = *flags.step;
    if (k >= steps->inputs.size()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("--step: %d out of range (the input has %d step%s)", k,
                          steps->inputs.size(), steps->inputs.size() == 1 ? "" : "s"));
    }
    return RunStep(*steps->inputs[k], path_of(k));
  }
  if (!steps->has_steps) return RunStep(*steps->inputs[0], "");
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  for (size_t k = 0; k < steps->inputs.size(); ++k) {
    absl::StatusOr<nlohmann::ordered_json> one = RunStep(*steps->inputs[k], path_of(k));
    if (!one.ok()) return one.status();
    all.push_back(*std::move(one));
  }
  return all;
}

// The status message on one line (a JSON parser message never has a newline, but be sure).
std::string OneLine(absl::string_view message) {
  std::string line(message);
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return line;
}

}  // namespace

std::string EpochUsage() {
  return "usage: agora-chain epoch --input FILE.json [--step K]\n"
         "\n"
         "Runs Yuma Consensus epochs (shared/design/yuma-io.md) and prints their outputs as JSON.\n"
         "  --input FILE  a bare inputs object (prints one output object), or a file with\n"
         "                \"steps\": [{\"inputs\": {...}}, ...] (prints an array, one per step)\n"
         "  --step K      run only steps[K] and print its output object\n"
         "  --help        print this text\n"
         "Exit status: 0 on success, 2 on bad usage or input (one line on stderr).\n";
}

int RunEpochCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  absl::StatusOr<EpochFlags> flags = ParseFlags(args);
  if (!flags.ok()) {
    err << "agora-chain epoch: " << OneLine(flags.status().message()) << "\n";
    return kEpochExitBadInput;
  }
  if (flags->help) {
    out << EpochUsage();
    return kEpochExitOk;
  }
  absl::StatusOr<nlohmann::ordered_json> result = Run(*flags);
  if (!result.ok()) {
    err << "agora-chain epoch: " << OneLine(result.status().message()) << "\n";
    return kEpochExitBadInput;
  }
  out << result->dump(1) << "\n";
  out.flush();
  return kEpochExitOk;
}

int RunEpochCommand(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return RunEpochCommand(args, std::cout, std::cerr);
}

}  // namespace agora::chain
