# miner_integration_test: real agora-chain, agora-train and agora-miner
# processes on loopback; a registered validator key sends signed requests.
# Torch-free itself: the model lives in the agora-miner process.
if(TARGET agora-chain AND TARGET agora_chain_node)
  add_executable(miner_integration_test ${CMAKE_CURRENT_LIST_DIR}/miner_integration_test.cc
                 ${CMAKE_SOURCE_DIR}/tests/integration/transport_test_util.cc)
  target_link_libraries(miner_integration_test PRIVATE
    agora_chain_node agora_transport agora_wallet PkgConfig::HTTPLIB absl::synchronization
    GTest::gtest GTest::gtest_main)
  target_compile_definitions(miner_integration_test PRIVATE
    AGORA_CHAIN_BINARY="$<TARGET_FILE:agora-chain>"
    AGORA_MINER_BINARY="$<TARGET_FILE:agora-miner>"
    AGORA_TRAIN_BINARY="$<TARGET_FILE:agora-train>")
  add_dependencies(miner_integration_test agora-chain agora-miner agora-train)
  gtest_discover_tests(miner_integration_test
    TEST_PREFIX "miner."
    DISCOVERY_TIMEOUT 30
    PROPERTIES TIMEOUT 300 LABELS "integration;miner" ENVIRONMENT "AGORA_TORCH_THREADS=1")
endif()
