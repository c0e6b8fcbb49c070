# bench_transport: raw ZeroMQ vs libsodium's bound vs Agora's signed round
# trips, and 256-peer fan-out (docs/BENCHMARKS.md "Transport").
add_executable(bench_transport ${CMAKE_CURRENT_LIST_DIR}/transport_bench.cc)
target_link_libraries(bench_transport PRIVATE agora_transport absl::synchronization)
