# agora_cli: the command dispatcher and its command groups; `agora` is a thin
# main over it (included from cli/CMakeLists.txt).
add_library(agora_cli STATIC
  ${CMAKE_CURRENT_SOURCE_DIR}/cli.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/wallet_commands.cc
)
target_link_libraries(agora_cli
  PUBLIC agora_build_flags absl::status absl::statusor absl::strings absl::cord
  PRIVATE agora_wallet nlohmann_json::nlohmann_json)

add_executable(agora ${CMAKE_CURRENT_SOURCE_DIR}/main.cc)
target_link_libraries(agora PRIVATE agora_cli)
