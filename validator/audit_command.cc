#include "validator/audit_command.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/address.h"
#include "common/file_util.h"
#include "validator/record_audit.h"

namespace agora::validator {
namespace {

// Far above any real record (a few KB per miner): a larger file is refused
// unread rather than loaded.
constexpr size_t kMaxRecordBytes = size_t{16} << 20;

std::string RecordPath(const std::string& dir, uint64_t step) {
  return absl::StrFormat("%s/step-%010d.json", dir, step);
}

// The steps of the record files in `dir`, ascending. Only names WriteRecord
// makes count; its temporary files and anything else are left alone.
absl::StatusOr<std::vector<uint64_t>> RecordSteps(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return absl::NotFoundError(absl::StrCat("--records ", dir, ": not a directory"));
  }
  std::vector<uint64_t> steps;
  std::filesystem::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!absl::StartsWith(name, "step-") || !absl::EndsWith(name, ".json")) continue;
    const std::string digits = name.substr(5, name.size() - 10);
    uint64_t step = 0;
    if (digits.empty() ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        !absl::SimpleAtoi(digits, &step) || absl::StrFormat("%010d", step) != digits) {
      continue;
    }
    steps.push_back(step);
  }
  if (ec) return absl::InternalError(absl::StrCat("--records ", dir, ": ", ec.message()));
  std::sort(steps.begin(), steps.end());
  return steps;
}

absl::Status RunAudit(const cli::ParsedFlags& flags, cli::Context& ctx) {
  const std::string dir = flags.Get("records");
  std::string signer;
  if (flags.Has("signer")) {
    absl::StatusOr<PublicKey> key = ParseAddress(flags.Get("signer"));
    if (!key.ok()) return cli::UsageError(absl::StrCat("--signer: ", key.status().message()));
    signer = EncodeAddress(*key);
  }
  absl::StatusOr<std::vector<uint64_t>> steps = RecordSteps(dir);
  if (!steps.ok()) return steps.status();
  if (steps->empty())
    return absl::NotFoundError(absl::StrCat("no score records (step-<N>.json) in ", dir));

  // One record in memory at a time: a long-running validator has many.
  RecordAuditor auditor(signer);
  for (uint64_t step : *steps) {
    absl::StatusOr<std::string> text = ReadFile(RecordPath(dir, step), kMaxRecordBytes);
    if (text.ok()) {
      auditor.Add(step, *text);
    } else {
      auditor.AddUnreadable(step, text.status().message());
    }
  }
  const AuditReport& report = auditor.report();
  if (flags.Has("json")) {
    // Findings may quote a record's text cut mid-character: replaced, never thrown.
    ctx.out << ReportJson(report).dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
            << "\n";
  } else {
    ctx.out << ReportText(report);
  }
  if (report.ok()) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat(report.discrepancies, " discrepancies in ", report.records, " score records"));
}

}  // namespace

cli::Command AuditCommand() {
  return cli::Command{
      "agora-validator audit",
      "check a validator's signed score records",
      "Reads <DIR>/step-<N>.json in step order and checks that every record's\n"
      "signature verifies, all are signed by one hotkey (--signer, or the first\n"
      "record's), no step is missing, each miner's moving average follows from\n"
      "the previous record and the step's recorded scores, and each weight vector\n"
      "equals the one ComputeWeights gives for its recorded inputs. Records from\n"
      "before records carried those inputs are counted as not checkable. Exit 0\n"
      "when everything checks out, 1 with the discrepancies listed otherwise.\n"
      "See docs/VALIDATOR.md.",
      {
          {"records", "DIR", "the records directory (<data_dir>/records)", /*required=*/true},
          {"signer", "ADDRESS", "the validator hotkey every record must be signed by"},
          {"json", "", "print the report as JSON"},
      },
      &RunAudit,
      {}};
}

}  // namespace agora::validator
