# bench_perturb: a model thief's perturbed copy against the duplicate rule:
# how far each noise scale moves the answers, how many stay duplicates, and
# the loss it costs (docs/BENCHMARKS.md "Perturbed copies").
if(TARGET agora_miner_model)
  add_executable(bench_perturb ${CMAKE_CURRENT_LIST_DIR}/perturb_bench.cc)
  target_link_libraries(bench_perturb PRIVATE agora_miner_model agora_miner_core agora_common)
  agora_reuse_torch_pch(bench_perturb)
endif()
