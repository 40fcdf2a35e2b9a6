# soak: a bounded mixed load on a real seriald for a given time (small calls at several
# concurrencies, large streams, malformed and amplifying inputs, clients cancelling, deadlines
# expiring), reporting failed valid calls and the server's RSS, descriptors and threads over time.
# Built into ${PROJECT_BINARY_DIR}/bin; `make soak` runs it for 10 minutes with 100 MiB streams.
find_package(nlohmann_json CONFIG REQUIRED)
add_executable(soak soak.cc)
target_link_libraries(soak PRIVATE
  seriald_e2e_testing seriald_testing seriald_proto gRPC::grpc++ CLI11::CLI11 Threads::Threads
  nlohmann_json::nlohmann_json absl::strings absl::str_format absl::time)
target_compile_definitions(soak PRIVATE
  SERIALD_BINARY_DIR="${PROJECT_BINARY_DIR}"
  SERIALD_SHARED_DIR="${SERIALD_SHARED_DIR}")
set_target_properties(soak PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bin)
add_dependencies(soak seriald)

# 30 seconds of it (5 of warm-up) with 24 MiB streams: no failed valid call, no call ending
# wrongly, and no growth of the server's descriptors, threads or RSS past soak's thresholds.
# Checks correctness and leaks, never speed.
add_test(NAME soak_30s
         COMMAND soak --duration 30 --warmup 5 --stream-mib 24 --check-leaks
                 --report ${CMAKE_CURRENT_BINARY_DIR}/soak_30s.json)
set_tests_properties(soak_30s PROPERTIES LABELS soak TIMEOUT 120)
