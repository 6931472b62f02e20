# Installing and packaging (docs/building.md):
#   cmake --install build --prefix /opt/minion   headers, static libraries, the minion binary,
#                                                 lib/cmake/minion (find_package) and minion.pc
#   (cd build && cpack -G DEB)                    minion_<version>_<arch>.deb
include(CMakePackageConfigHelpers)

set(MINION_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/minion)
install(EXPORT minionTargets NAMESPACE minion:: DESTINATION ${MINION_CMAKE_DIR}
        FILE minionTargets.cmake COMPONENT dev)
configure_package_config_file(${MINION_ROOT}/cmake/minionConfig.cmake.in
  ${CMAKE_BINARY_DIR}/minionConfig.cmake INSTALL_DESTINATION ${MINION_CMAKE_DIR})
# 0.x: a minor version may break the API, so only the same major.minor is compatible.
write_basic_package_version_file(${CMAKE_BINARY_DIR}/minionConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/minionConfig.cmake ${CMAKE_BINARY_DIR}/minionConfigVersion.cmake
        DESTINATION ${MINION_CMAKE_DIR} COMPONENT dev)

# minion.pc: every static library in link order (a library before the ones it uses), found by
# walking the link graph of the libraries minion_add_library() defined.
get_property(minion_libraries GLOBAL PROPERTY MINION_LIBRARIES)
set(minion_link_order)
set(minion_visited)
function(_minion_visit lib)
  list(FIND minion_visited ${lib} seen)
  if(NOT seen EQUAL -1)
    return()
  endif()
  list(APPEND minion_visited ${lib})
  set(minion_visited ${minion_visited} PARENT_SCOPE)
  get_target_property(type ${lib} TYPE)
  if(type STREQUAL "INTERFACE_LIBRARY")
    get_target_property(deps ${lib} INTERFACE_LINK_LIBRARIES)
  else()
    get_target_property(deps ${lib} LINK_LIBRARIES)
  endif()
  foreach(dep ${deps})
    if(dep IN_LIST minion_libraries)
      _minion_visit(${dep})
    endif()
  endforeach()
  if(NOT type STREQUAL "INTERFACE_LIBRARY")
    list(PREPEND minion_link_order ${lib})
  endif()
  set(minion_visited ${minion_visited} PARENT_SCOPE)
  set(minion_link_order ${minion_link_order} PARENT_SCOPE)
endfunction()
foreach(lib ${minion_libraries})
  _minion_visit(${lib})
endforeach()
set(MINION_PC_LIBS "")
foreach(lib ${minion_link_order})
  string(APPEND MINION_PC_LIBS " -l${lib}")
endforeach()
set(MINION_PC_REQUIRES "nlohmann_json, yaml-cpp, sqlite3, libcurl, protobuf, cpp-httplib, hiredis, spdlog, prometheus-cpp-core")
set(MINION_DEB_DEPENDS "nlohmann-json3-dev, libyaml-cpp-dev, libsqlite3-dev, libcurl4-openssl-dev, libprotobuf-dev, libcpp-httplib-dev, libhiredis-dev, libspdlog-dev, prometheus-cpp-dev")
if(MINION_WITH_OTLP_HTTP)
  string(APPEND MINION_PC_REQUIRES ", zlib")
  string(APPEND MINION_DEB_DEPENDS ", zlib1g-dev")
endif()
if(MINION_WITH_OTLP_GRPC)
  string(APPEND MINION_PC_REQUIRES ", grpc++")
  string(APPEND MINION_DEB_DEPENDS ", libgrpc++-dev")
endif()
file(RELATIVE_PATH MINION_PC_UP /p/${CMAKE_INSTALL_LIBDIR}/pkgconfig /p)
configure_file(${MINION_ROOT}/cmake/minion.pc.in ${CMAKE_BINARY_DIR}/minion.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/minion.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
        COMPONENT dev)

# cpack -G DEB: one package with the binary, headers, static libraries and package files. It
# depends on the -dev packages of what the static libraries link (they bring the run-time
# libraries the binary needs too).
set(CPACK_PACKAGE_NAME minion)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "multi-agent runtime with OpenTelemetry-compatible tracing")
set(CPACK_PACKAGE_CONTACT "minion maintainers <minion@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "${MINION_DEB_DEPENDS}")
set(CPACK_STRIP_FILES OFF)
include(CPack)
