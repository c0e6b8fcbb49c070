# agora_wallet: addresses, encrypted key files, atomic file writes, password
# sources and the wallet directory layout (included from common/CMakeLists.txt).
# keyfile.cc is part of the crypto corner and the only file here that includes
# sodium.h; see docs/KEYFILES.md.
add_library(agora_wallet STATIC
  ${CMAKE_CURRENT_SOURCE_DIR}/address.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/daemon_wallet.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/file_util.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/keyfile.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/password.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/wallet.cc
)
target_link_libraries(agora_wallet
  PUBLIC agora_common absl::status absl::statusor absl::strings absl::str_format
  PRIVATE PkgConfig::SODIUM)
