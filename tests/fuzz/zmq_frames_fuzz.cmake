# What the transport does with one received frame (server refusal and client
# decoding, no sockets); seeds in corpus/zmq_frames/.
agora_add_fuzz_target(zmq_frames agora_transport)
