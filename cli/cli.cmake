# agora_cli: the command dispatcher and its command groups; `agora` is a thin
# main over it (included from cli/CMakeLists.txt).
add_library(agora_cli STATIC
  ${CMAKE_CURRENT_SOURCE_DIR}/cli.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/config_file.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/wallet_commands.cc
)
target_link_libraries(agora_cli
  PUBLIC agora_build_flags absl::status absl::statusor absl::strings absl::cord
  PRIVATE agora_wallet nlohmann_json::nlohmann_json tomlplusplus::tomlplusplus)

# agora_cli_chain: the chain commands (balance, transfer, register, stake,
# serve, register-model, metagraph, weights, chain status) over the chain client. A library of its
# own because agora_chain_node itself links agora_cli (for `agora-chain run`).
add_library(agora_cli_chain STATIC
  ${CMAKE_CURRENT_SOURCE_DIR}/amount.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/chain_args.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/chain_commands.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/metagraph_commands.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/metagraph_table.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/pow_solver.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/register_command.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/register_model_command.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/serve_command.cc
)
target_link_libraries(agora_cli_chain
  PUBLIC agora_cli agora_chain_node nlohmann_json::nlohmann_json
  PRIVATE agora_wallet absl::str_format absl::time Threads::Threads)

add_executable(agora ${CMAKE_CURRENT_SOURCE_DIR}/main.cc)
target_link_libraries(agora PRIVATE agora_cli agora_cli_chain)

# agora_cli_query: `agora query` and `agora summary`, HTTP clients of the
# validator's gateway (built when the validator is: agora_validator_core's
# target exists only with LibTorch).
if(TARGET agora_validator_core)
  add_library(agora_cli_query STATIC ${CMAKE_CURRENT_SOURCE_DIR}/query_command.cc
                                     ${CMAKE_CURRENT_SOURCE_DIR}/summary_command.cc)
  target_link_libraries(agora_cli_query PUBLIC agora_cli agora_cli_chain
                        PRIVATE agora_validator_core PkgConfig::HTTPLIB absl::str_format)
  target_link_libraries(agora PRIVATE agora_cli_query)
  target_compile_definitions(agora PRIVATE AGORA_WITH_QUERY=1)
endif()
