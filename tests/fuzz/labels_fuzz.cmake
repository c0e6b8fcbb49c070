if(TARGET agora_cli_query)
  agora_add_fuzz_target(labels agora_cli_query)
endif()
