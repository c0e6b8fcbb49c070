# bench_scoring: ScorePredict throughput (dense building included) next to
# the raw LibTorch ops on the same already-built tensor, and the batched
# teacher-forced TokenLogprobs of a GPT next to its raw forward, in the same
# run (docs/BENCHMARKS.md "Scoring").
if(TARGET agora_scoring AND TARGET agora_miner_model)
  add_executable(bench_scoring ${CMAKE_CURRENT_LIST_DIR}/scoring_bench.cc)
  target_link_libraries(bench_scoring PRIVATE agora_scoring agora_miner_model)
  agora_reuse_torch_pch(bench_scoring)
endif()
