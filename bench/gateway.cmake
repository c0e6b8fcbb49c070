# bench_gateway: the gateway's added latency over a direct signed miner query,
# and requests/s through it, in the same run (docs/BENCHMARKS.md "Gateway").
if(TARGET agora_validator AND TARGET agora_miner)
  add_executable(bench_gateway ${CMAKE_CURRENT_LIST_DIR}/gateway_bench.cc)
  target_link_libraries(bench_gateway PRIVATE agora_validator agora_miner agora_miner_model
                        PkgConfig::HTTPLIB)
  agora_reuse_torch_pch(bench_gateway)
endif()
# gateway_load: minutes of bounded concurrent load on a running gateway from a
# second process, with the gateway's memory sampled (docs/BENCHMARKS.md
# "Gateway under load").
if(TARGET PkgConfig::HTTPLIB)
  add_executable(gateway_load ${CMAKE_CURRENT_LIST_DIR}/gateway_load.cc)
  target_link_libraries(gateway_load PRIVATE agora_build_flags PkgConfig::HTTPLIB absl::strings Threads::Threads)
endif()
