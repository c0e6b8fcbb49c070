# The JSON epoch input (chain/epoch_json.h) and the epoch it feeds (chain/yuma.h).
agora_add_fuzz_target(epoch_json agora_chain_epoch_cli agora_chain_yuma)
