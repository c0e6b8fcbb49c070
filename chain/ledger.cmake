# The ledger: state, transactions, their application, blocks and genesis.
# Pure state transition (no sockets, no clock); storage and the node come on top.
add_library(agora_chain STATIC
  ${CMAKE_CURRENT_SOURCE_DIR}/apply.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/block.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/genesis.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/ledger.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/state.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/store.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/tx.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/tx_reject.cc
)
target_link_libraries(agora_chain
  PUBLIC agora_chain_yuma agora_protocol agora_wallet
  PRIVATE tomlplusplus::tomlplusplus absl::flat_hash_map PkgConfig::SQLITE3)

# The node (ledger served over the transport, block producer) and the client library.
add_library(agora_chain_node STATIC
  ${CMAKE_CURRENT_SOURCE_DIR}/client.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/node.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/node_key.cc
)
target_link_libraries(agora_chain_node PUBLIC agora_chain agora_transport PRIVATE cppzmq)
# `agora-chain run` parses its flags with the CLI dispatcher; that stays in the binary.
target_sources(agora-chain PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/run_command.cc)
target_link_libraries(agora-chain PRIVATE agora_chain_node agora_cli)
