# transport_integration_test: the ZeroMQ server and client over real loopback
# sockets (ports chosen by the kernel, so parallel ctest runs do not clash).
add_executable(transport_integration_test
  ${CMAKE_CURRENT_LIST_DIR}/transport_concurrency_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/transport_failure_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/transport_fanout_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/transport_garbage_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/transport_stream_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/transport_test_util.cc
)
target_link_libraries(transport_integration_test PRIVATE
  agora_transport GTest::gtest GTest::gtest_main absl::synchronization)
gtest_discover_tests(transport_integration_test
  TEST_PREFIX "transport."
  DISCOVERY_TIMEOUT 30
  PROPERTIES TIMEOUT 60 LABELS "integration;transport")
