add_library(gpumod_warnings INTERFACE)
target_compile_options(gpumod_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor
  -Wold-style-cast -Wimplicit-fallthrough -Wnull-dereference)
if(GPUMOD_WERROR)
  target_compile_options(gpumod_warnings INTERFACE -Werror)
endif()
if(GPUMOD_SANITIZE)
  # GCC 12 reports -Wmaybe-uninitialized false positives inside libstdc++ (std::regex,
  # std::function) when sanitizers instrument optimized code; GCC's manual warns the check is
  # unreliable there. Plain builds keep it.
  target_compile_options(gpumod_warnings INTERFACE -Wno-maybe-uninitialized)
endif()
