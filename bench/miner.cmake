# bench_miner: generation throughput through the real miner server (signed
# requests over loopback, dynamic batching) next to the raw batched LibTorch
# forward of the same model in the same run, and unbatched serving
# (docs/BENCHMARKS.md "Miner").
if(TARGET agora_miner)
  add_executable(bench_miner ${CMAKE_CURRENT_LIST_DIR}/miner_bench.cc)
  target_link_libraries(bench_miner PRIVATE agora_miner agora_miner_model absl::synchronization)
  agora_reuse_torch_pch(bench_miner)
endif()
# bench_miner_flood: a registered validator's latency with the miner quiet and
# under a flood of unregistered senders, in the same run (docs/BENCHMARKS.md
# "Miner under an unregistered flood").
if(TARGET agora_miner)
  add_executable(bench_miner_flood ${CMAKE_CURRENT_LIST_DIR}/miner_flood.cc)
  target_link_libraries(bench_miner_flood PRIVATE agora_miner agora_miner_model)
  agora_reuse_torch_pch(bench_miner_flood)
endif()
