# The key file decoder (common/keyfile.h); seeds in corpus/keyfile/.
agora_add_fuzz_target(keyfile agora_wallet)
