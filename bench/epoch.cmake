# bench_epoch: chain::RunEpoch (fixed point, sparse) against a straightforward float64 dense
# implementation of the same spec, timed in the same run (docs/BENCHMARKS.md "Yuma epoch").
add_executable(bench_epoch
  ${CMAKE_CURRENT_SOURCE_DIR}/epoch_bench.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/epoch_subnet.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/yuma_reference_f64.cc
)
target_link_libraries(bench_epoch PRIVATE agora_chain_yuma absl::str_format)
