# service_benchmark: the seriald service as a client sees it, against a real seriald process
# (small-call rate and latency at several concurrency levels; 1 GiB streams next to a bare gRPC
# byte stream of the same shape; the server's peak memory). Built into ${PROJECT_BINARY_DIR}/bin.
set(SERIALD_BENCH_PROTO_OUT ${CMAKE_CURRENT_BINARY_DIR}/gen)
set(SERIALD_BENCH_PROTO ${CMAKE_CURRENT_SOURCE_DIR}/proto/seriald/bench/byte_echo.proto)
set(SERIALD_BENCH_PROTO_SRCS
  ${SERIALD_BENCH_PROTO_OUT}/seriald/bench/byte_echo.pb.cc
  ${SERIALD_BENCH_PROTO_OUT}/seriald/bench/byte_echo.grpc.pb.cc)
add_custom_command(
  OUTPUT ${SERIALD_BENCH_PROTO_SRCS}
         ${SERIALD_BENCH_PROTO_OUT}/seriald/bench/byte_echo.pb.h
         ${SERIALD_BENCH_PROTO_OUT}/seriald/bench/byte_echo.grpc.pb.h
  COMMAND ${CMAKE_COMMAND} -E make_directory ${SERIALD_BENCH_PROTO_OUT}
  COMMAND protobuf::protoc
  ARGS --proto_path=${CMAKE_CURRENT_SOURCE_DIR}/proto
       --cpp_out=${SERIALD_BENCH_PROTO_OUT}
       --grpc_out=${SERIALD_BENCH_PROTO_OUT}
       --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>
       ${SERIALD_BENCH_PROTO}
  DEPENDS ${SERIALD_BENCH_PROTO} protobuf::protoc gRPC::grpc_cpp_plugin
  COMMENT "Generating C++ code from seriald/bench/byte_echo.proto")
set_source_files_properties(${SERIALD_BENCH_PROTO_SRCS} PROPERTIES COMPILE_OPTIONS -w)

add_executable(service_benchmark service_benchmark.cc ${SERIALD_BENCH_PROTO_SRCS})
target_include_directories(service_benchmark PRIVATE ${PROJECT_SOURCE_DIR} ${SERIALD_BENCH_PROTO_OUT})
target_link_libraries(service_benchmark PRIVATE
  seriald_testing seriald_client seriald_proto gRPC::grpc++ CLI11::CLI11 Threads::Threads
  absl::strings absl::str_format absl::time)
target_compile_definitions(service_benchmark PRIVATE SERIALD_SHARED_DIR="${SERIALD_SHARED_DIR}")
set_target_properties(service_benchmark PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bin)
add_dependencies(service_benchmark seriald)

add_test(NAME service_benchmark_smoke
         COMMAND service_benchmark --seconds 0.05 --concurrency 1,2 --stream-mib 4 --repeat 1)
set_tests_properties(service_benchmark_smoke PROPERTIES LABELS bench-smoke TIMEOUT 120)
