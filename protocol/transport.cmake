# agora_transport: the ZeroMQ server and client (included by protocol/CMakeLists.txt).
# Sockets live here and nowhere else in protocol/; LibTorch never links in.
add_library(agora_transport STATIC
  ${CMAKE_CURRENT_LIST_DIR}/error_reply.cc
  ${CMAKE_CURRENT_LIST_DIR}/nonce.cc
  ${CMAKE_CURRENT_LIST_DIR}/peer_socket_cache.cc
  ${CMAKE_CURRENT_LIST_DIR}/zmq_client.cc
  ${CMAKE_CURRENT_LIST_DIR}/zmq_server.cc
  ${CMAKE_CURRENT_LIST_DIR}/zmq_util.cc
)
target_link_libraries(agora_transport
  PUBLIC agora_protocol cppzmq Threads::Threads
         absl::synchronization absl::flat_hash_map absl::hash)
