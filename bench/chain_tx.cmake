# bench_chain_tx: signed chain transactions validated and durably committed
# per second, through the Ledger and through the node, against libsodium's
# verify bound (docs/BENCHMARKS.md "Chain transactions").
add_executable(bench_chain_tx ${CMAKE_CURRENT_LIST_DIR}/chain_tx_bench.cc)
target_link_libraries(bench_chain_tx PRIVATE agora_chain_node)
