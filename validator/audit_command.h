// `agora-validator audit --records DIR [--signer ADDRESS] [--json]`: checks a
// validator's directory of signed score records (validator/record_audit.h)
// and prints what it found. Exit 0 when every record checks out, 1 with the
// discrepancies listed otherwise, 2 for a usage error.
#ifndef AGORA_VALIDATOR_AUDIT_COMMAND_H_
#define AGORA_VALIDATOR_AUDIT_COMMAND_H_

#include "cli/cli.h"

namespace agora::validator {

// The command, named "agora-validator audit" (its help shows that path).
cli::Command AuditCommand();

}  // namespace agora::validator

#endif  // AGORA_VALIDATOR_AUDIT_COMMAND_H_
