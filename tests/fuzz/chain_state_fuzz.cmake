agora_add_fuzz_target(chain_state agora_chain)

# Regenerates the seeds of the chain fuzz targets (signed_tx, tx_payloads,
# genesis, chain_state) into tests/fuzz/corpus/ when a format changes:
#   ninja chain_fuzz_corpus && bin/chain_fuzz_corpus <repo>/tests/fuzz/corpus
add_executable(chain_fuzz_corpus EXCLUDE_FROM_ALL ${CMAKE_CURRENT_SOURCE_DIR}/tools/chain_corpus.cc)
target_link_libraries(chain_fuzz_corpus PRIVATE agora_chain)
