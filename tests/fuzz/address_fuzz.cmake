# The address parser (common/address.h); seeds in corpus/address/.
agora_add_fuzz_target(address agora_wallet)
