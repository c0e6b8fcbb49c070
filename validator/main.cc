// agora-validator: a thin shell over validator::RunValidatorCommand (validator/validator_flags.h).
#include "validator/validator_flags.h"

int main(int argc, char** argv) { return agora::validator::RunValidatorCommand(argc, argv); }
