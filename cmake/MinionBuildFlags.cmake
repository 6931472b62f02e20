# Build-cost flags (docs/benchmarks.md, "Build and CI cost", has the measurements behind each).
# Included from the top-level flag section; it only picks flags, it adds no targets.

# Linker. Every test program statically links our component libraries plus protobuf/gRPC with
# debug info; GNU ld spends most of a link reading and merging that. mold or lld (Debian 12 packages;
# lld is in scripts/bootstrap) do the same link several times faster.
set(MINION_LINKER "auto" CACHE STRING "Linker for -fuse-ld: auto (lld if the compiler can use it, else its default), lld, mold, gold, bfd or default")
include(CheckLinkerFlag)
set(_minion_linkers ${MINION_LINKER})
if(MINION_LINKER STREQUAL "auto")
  set(_minion_linkers lld)
endif()
set(MINION_LINKER_USED "default")
if(NOT MINION_LINKER STREQUAL "default")
  foreach(linker ${_minion_linkers})
    string(MAKE_C_IDENTIFIER "MINION_HAVE_LD_${linker}" have_var)
    check_linker_flag(CXX "-fuse-ld=${linker}" ${have_var})
    if(${have_var})
      add_link_options(-fuse-ld=${linker})
      set(MINION_LINKER_USED ${linker})
      break()
    endif()
  endforeach()
  if(MINION_LINKER_USED STREQUAL "default" AND NOT MINION_LINKER STREQUAL "auto")
    message(FATAL_ERROR "MINION_LINKER=${MINION_LINKER}: the compiler cannot link with -fuse-ld=${MINION_LINKER}")
  endif()
endif()
message(STATUS "minion: linker ${MINION_LINKER_USED}")

# Optimisation and debug info of sanitizer builds. They exist to run the suite, so compile time
# counts more than code speed: with clang 14, -O0 compiles an ASan+UBSan test source in about
# half the CPU time of -O1 (docs/benchmarks.md, "Build and CI cost"), and the suite's run time,
# a few minutes per pass, is small beside the build. The sanitizers' documentation suggests -O1
# for speed, not for correctness: -O0 checks the same accesses (optimisation removes none).
# -g1 (line tables) still gives symbolized reports with file:line in every frame. The build type
# keeps its -DNDEBUG, so assertions are the same as in the plain build. scripts/fuzz's own
# build asks for -O1: there, executions per second are the point.
set(MINION_SANITIZE_FLAGS "-O0 -g1" CACHE STRING "Optimisation and debug flags replacing the build type's in sanitizer builds ('' keeps the build type's)")
if(MINION_SANITIZE AND MINION_SANITIZE_FLAGS AND CMAKE_BUILD_TYPE STREQUAL "RelWithDebInfo")
  foreach(lang C CXX)
    set(CMAKE_${lang}_FLAGS_RELWITHDEBINFO "${MINION_SANITIZE_FLAGS} -DNDEBUG")
  endforeach()
endif()

# Debug info of the plain (RelWithDebInfo) build. "lines" (-g1) keeps symbolized backtraces with
# file:line but drops variable locations, which cuts a third of the compile time of a TU; CI
# (.ci/run) uses it. -O2 stays, so benchmarks measure the same code either way.
set(MINION_DEBUG_INFO "full" CACHE STRING "Debug info of non-sanitizer RelWithDebInfo builds: full (-g) or lines (-g1)")
set_property(CACHE MINION_DEBUG_INFO PROPERTY STRINGS full lines)
if(NOT MINION_SANITIZE AND MINION_DEBUG_INFO STREQUAL "lines" AND CMAKE_BUILD_TYPE STREQUAL "RelWithDebInfo")
  foreach(lang C CXX)
    set(CMAKE_${lang}_FLAGS_RELWITHDEBINFO "-O2 -g1 -DNDEBUG")
  endforeach()
elseif(NOT MINION_DEBUG_INFO MATCHES "^(full|lines)$")
  message(FATAL_ERROR "MINION_DEBUG_INFO must be full or lines, not '${MINION_DEBUG_INFO}'")
endif()
