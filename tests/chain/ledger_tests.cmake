# Tests of the chain ledger (chain/ledger.cmake): transactions, blocks, genesis,
# the SQLite event log and the Ledger. Pure and fast (no sockets, no clock);
# the crash test of the real node is tests/integration/chain.cmake.
add_executable(chain_ledger_tests
  ${CMAKE_CURRENT_LIST_DIR}/ledger_apply_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/ledger_block_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/ledger_genesis_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/ledger_prune_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/ledger_refusal_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/ledger_store_test.cc
)
target_link_libraries(chain_ledger_tests PRIVATE
  agora_chain PkgConfig::SQLITE3 GTest::gtest GTest::gtest_main)
gtest_discover_tests(chain_ledger_tests
  TEST_PREFIX "ledger."
  DISCOVERY_TIMEOUT 30
  PROPERTIES TIMEOUT 60 LABELS chain)
