// `agora-validator teacher`: writes challenge text sampled from a private
// checkpoint with a secret seed (validator/teacher_text.h) to standard
// output, endlessly or --bytes of it; the validator reads it as its
// `holdout_command`. With --evaluate it instead samples --bytes of fresh
// text and prints each given checkpoint's loss on it: the models' true
// quality on the private source, measured on text no challenge used.
#ifndef AGORA_VALIDATOR_TEACHER_COMMAND_H_
#define AGORA_VALIDATOR_TEACHER_COMMAND_H_

#include "cli/cli.h"

namespace agora::validator {

cli::Command TeacherCommand();

}  // namespace agora::validator

#endif  // AGORA_VALIDATOR_TEACHER_COMMAND_H_
