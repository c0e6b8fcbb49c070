if(TARGET agora_validator_core)
  agora_add_fuzz_target(validator_inputs agora_validator_core)
endif()
