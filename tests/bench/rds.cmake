# rds_benchmark: R's format next to R itself and memcpy (see rds_benchmark.cc). Included from
# CMakeLists.txt in this directory.
add_executable(rds_benchmark rds_benchmark.cc)
target_link_libraries(rds_benchmark PRIVATE seriald_core seriald_testing)
target_compile_definitions(rds_benchmark PRIVATE SERIALD_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
set_target_properties(rds_benchmark PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bin)
add_test(NAME rds_benchmark_smoke
         COMMAND rds_benchmark --doubles 1000 --strings 1000 --reps 1
                 --dir ${PROJECT_BINARY_DIR}/rds_bench_smoke)
set_tests_properties(rds_benchmark_smoke PROPERTIES LABELS bench-smoke TIMEOUT 120)
