if(TARGET agora_validator_core)
  agora_add_fuzz_target(stream_relay agora_validator_core)
endif()
