# bench_verify: a validator's re-execution of completions (one teacher-forced
# pass, every token checked) next to the miner's generation of the same
# completions in the same run, and the false-positive rate over honest
# answers (docs/BENCHMARKS.md "Verification").
if(TARGET agora_miner)
  add_executable(bench_verify ${CMAKE_CURRENT_LIST_DIR}/verify_bench.cc)
  target_link_libraries(bench_verify PRIVATE agora_miner agora_miner_model)
  agora_reuse_torch_pch(bench_verify)
endif()
