include(GNUInstallDirs)

# Include roots. A library never gets ${MINION_ROOT}/src or ${MINION_ROOT}/include as a whole:
# each gets a directory of its own under ${MINION_INCLUDE_ROOTS} holding symbolic links to
#   private/<target>/<folder>        -> src/<folder>           (its own private headers only)
#   public/<target>/minion/<folder>  -> include/minion/<folder> (or one link per listed header)
# so "exporters/jaeger/jaeger_thrift.h" resolves only inside minion_exporter_jaeger, and
# "minion/agents/worker.h" only for targets that link minion_agents (directly or through a
# PUBLIC dependency). Include spellings stay the same as with the old src/ and include/ roots.
set(MINION_INCLUDE_ROOTS ${CMAKE_BINARY_DIR}/minion_include)

# Points the symbolic link `link` at `target` (re-pointing it when it changed).
function(_minion_symlink target link)
  if(IS_SYMLINK ${link})
    file(READ_SYMLINK ${link} current)
    if(current STREQUAL target)
      return()
    endif()
    file(REMOVE ${link})
  elseif(EXISTS ${link})
    message(FATAL_ERROR "${link} exists and is not a symbolic link; remove it")
  endif()
  get_filename_component(parent ${link} DIRECTORY)
  file(MAKE_DIRECTORY ${parent})
  file(CREATE_LINK ${target} ${link} SYMBOLIC)
endfunction()

# minion_add_library(<target> SOURCES ... [DEPS ...] [PRIVATE_DEPS ...]
#                    [PUBLIC_HEADERS minion/<dir>/<file>.h ...]
#                    [INTERNAL [INTERNAL_HEADERS <file>.h ...]] [NO_INSTALL])
#   One static library per component, defined in src/<folder>/CMakeLists.txt.
#   DEPS: libraries whose headers appear in this library's public headers (PUBLIC);
#   PRIVATE_DEPS: libraries used only by its sources. Every minion library it includes must be
#   listed in one of the two: the include roots above make anything else fail to compile, and
#   scripts/check (scripts/check_includes.py) reads these calls as the dependency table and
#   rejects a wrong include in seconds, before any build.
#   Public headers: include/minion/<folder>/ when that directory exists, else PUBLIC_HEADERS
#   (paths under include/, for folders such as include/minion/exporters/ that several
#   libraries share). They are installed, and the target is exported as minion::<name> where
#   <name> is <target> without its "minion_" prefix; an alias of that name exists in the tree.
#   INTERNAL: a helper shared by several components (no installed headers). Its folder (or only
#   INTERNAL_HEADERS, relative to the folder) is visible to the libraries that link it, through
#   the same "<folder>/<file>.h" spelling. A library without SOURCES is header-only.
#   NO_INSTALL: used in this build only (by the minion binary, tests); not installed or exported.
#   Only such a library's public headers may include generated protobuf headers, which are
#   never installed.
function(minion_add_library name)
  cmake_parse_arguments(ARG "INTERNAL;NO_INSTALL" "" "SOURCES;DEPS;PRIVATE_DEPS;PUBLIC_HEADERS;INTERNAL_HEADERS" ${ARGN})
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "minion_add_library(${name}): unknown arguments ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  file(RELATIVE_PATH folder ${MINION_ROOT}/src ${CMAKE_CURRENT_SOURCE_DIR})
  string(REGEX REPLACE "^minion_" "" export_name ${name})

  if(ARG_SOURCES)
    add_library(${name} STATIC ${ARG_SOURCES})
    set(scope PUBLIC)
    set(private_scope PRIVATE)
  else()
    add_library(${name} INTERFACE)
    set(scope INTERFACE)
    set(private_scope INTERFACE)
  endif()
  add_library(minion::${export_name} ALIAS ${name})
  set_target_properties(${name} PROPERTIES EXPORT_NAME ${export_name})

  # Own folder: private for a component, visible to dependents (build tree only) when INTERNAL.
  set(private_root ${MINION_INCLUDE_ROOTS}/private/${name})
  if(ARG_INTERNAL AND ARG_INTERNAL_HEADERS)
    foreach(h ${ARG_INTERNAL_HEADERS})
      _minion_symlink(${CMAKE_CURRENT_SOURCE_DIR}/${h} ${private_root}/${folder}/${h})
    endforeach()
  else()
    _minion_symlink(${CMAKE_CURRENT_SOURCE_DIR} ${private_root}/${folder})
  endif()
  if(ARG_INTERNAL)
    target_include_directories(${name} ${scope} $<BUILD_INTERFACE:${private_root}>)
  elseif(ARG_SOURCES)
    target_include_directories(${name} PRIVATE ${private_root})
  endif()

  # Public headers.
  set(public_headers)
  if(NOT ARG_INTERNAL)
    set(public_root ${MINION_INCLUDE_ROOTS}/public/${name})
    if(ARG_PUBLIC_HEADERS)
      foreach(h ${ARG_PUBLIC_HEADERS})
        if(NOT EXISTS ${MINION_ROOT}/include/${h})
          message(FATAL_ERROR "minion_add_library(${name}): include/${h} does not exist")
        endif()
        _minion_symlink(${MINION_ROOT}/include/${h} ${public_root}/${h})
        get_filename_component(dest ${h} DIRECTORY)
        if(NOT ARG_NO_INSTALL)
          install(FILES ${MINION_ROOT}/include/${h}
                  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/${dest} COMPONENT dev)
        endif()
      endforeach()
      set(public_headers ${ARG_PUBLIC_HEADERS})
    elseif(IS_DIRECTORY ${MINION_ROOT}/include/minion/${folder})
      _minion_symlink(${MINION_ROOT}/include/minion/${folder} ${public_root}/minion/${folder})
      get_filename_component(dest minion/${folder} DIRECTORY)
      if(NOT ARG_NO_INSTALL)
        install(DIRECTORY ${MINION_ROOT}/include/minion/${folder}
                DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/${dest} COMPONENT dev
                FILES_MATCHING PATTERN "*.h")
      endif()
      set(public_headers "minion/${folder}/")
    endif()
    if(public_headers)
      target_include_directories(${name} ${scope}
        $<BUILD_INTERFACE:${public_root}> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
    endif()
  endif()

  target_link_libraries(${name} ${scope} ${ARG_DEPS})
  if(ARG_PRIVATE_DEPS)
    target_link_libraries(${name} ${private_scope} ${ARG_PRIVATE_DEPS})
  endif()
  if(ARG_SOURCES)
    target_compile_definitions(${name} PRIVATE MINION_VERSION="${MINION_VERSION_STRING}")
  endif()
  if(NOT ARG_NO_INSTALL)
    install(TARGETS ${name} EXPORT minionTargets
            ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
    set_property(GLOBAL APPEND PROPERTY MINION_LIBRARIES ${name})
  endif()

endfunction()

# minion_link_optional(<target> <dep>...): links (PRIVATE) those of the listed minion libraries
# this build has (optional parts switched off with MINION_WITH_*). scripts/check reads these
# calls like PRIVATE_DEPS.
function(minion_link_optional name)
  foreach(dep ${ARGN})
    if(TARGET ${dep})
      target_link_libraries(${name} PRIVATE ${dep})
    endif()
  endforeach()
endfunction()

# minion_require(<option> <found> <what> <debian package>): an optional part that was asked
# for (its MINION_WITH_* option is ON, the default) must have its dependency; never skip it
# silently.
function(minion_require option found what apt)
  if(NOT ${found})
    message(FATAL_ERROR
      "${option} is ON but ${what} was not found.\n"
      "Install the Debian package(s) ${apt} (scripts/bootstrap does), or configure with "
      "-D${option}=OFF to build without this part.")
  endif()
endfunction()

# minion_add_test(NAME SOURCES ... DEPS ... LABELS unit|integration|interop|stress [TIMEOUT s])
#   A GoogleTest program registered with CTest under the given labels. Tests may see every
#   private folder (src/) and the test helpers (tests/).
function(minion_add_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_include_directories(${name} PRIVATE ${MINION_ROOT}/src ${MINION_ROOT}/tests ${MINION_ROOT}/include)
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main GTest::gmock Threads::Threads)
  if(TARGET minion_test_pch)
    target_precompile_headers(${name} REUSE_FROM minion_test_pch)
  endif()
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
    ENVIRONMENT "MINION_SOURCE_DIR=${MINION_ROOT};MINION_BINARY_DIR=${CMAKE_BINARY_DIR}")
endfunction()
