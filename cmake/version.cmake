# The commit is read at configure time; a build from a tarball says "unknown".
execute_process(COMMAND git rev-parse --short=12 HEAD
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR} OUTPUT_VARIABLE GPUMOD_GIT_COMMIT
  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE _git_rc)
if(NOT _git_rc EQUAL 0 OR GPUMOD_GIT_COMMIT STREQUAL "")
  set(GPUMOD_GIT_COMMIT "unknown")
endif()
if(NOT CMAKE_BUILD_TYPE)
  set(GPUMOD_BUILD_TYPE "unspecified")
else()
  set(GPUMOD_BUILD_TYPE "${CMAKE_BUILD_TYPE}")
endif()
if(GPUMOD_SANITIZE)
  string(APPEND GPUMOD_BUILD_TYPE "+asan+ubsan")
endif()
configure_file(${CMAKE_SOURCE_DIR}/src/core/base/build_info.hpp.in
               ${CMAKE_BINARY_DIR}/generated/core/base/build_info.hpp @ONLY)
