add_library(gpumod_warnings INTERFACE)
target_compile_options(gpumod_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor
  -Wold-style-cast -Wimplicit-fallthrough -Wnull-dereference)
if(GPUMOD_WERROR)
  target_compile_options(gpumod_warnings INTERFACE -Werror)
endif()
