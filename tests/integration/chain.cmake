# chain_crash_test: the real agora-chain binary, SIGKILLed under load and
# restarted on the same data directory (tests/integration/chain_crash_test.cc).
add_executable(chain_crash_test
  ${CMAKE_CURRENT_LIST_DIR}/chain_crash_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/chain_test_util.cc
)
target_link_libraries(chain_crash_test PRIVATE
  agora_chain_node cppzmq GTest::gtest GTest::gtest_main)
target_compile_definitions(chain_crash_test PRIVATE
  AGORA_CHAIN_BINARY="$<TARGET_FILE:agora-chain>")
add_dependencies(chain_crash_test agora-chain)
gtest_discover_tests(chain_crash_test
  TEST_PREFIX "chain."
  DISCOVERY_TIMEOUT 30
  PROPERTIES TIMEOUT 120 LABELS "integration;chain")
