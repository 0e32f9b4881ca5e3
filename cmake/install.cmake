# `cmake --install`: the libraries, the public headers, the engram CLI, the CMake package
# (find_package(engram): engram::models, engram::c) and engram.pc for the C API. Components
# engram_development (libraries, headers, packages) and engram_cli (bin/engram), so a Python
# wheel build can install only its own component.
include(CMakePackageConfigHelpers)

foreach(target engram_kernels engram_engine engram_models)
  target_include_directories(${target} INTERFACE $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
endforeach()
set_target_properties(engram_kernels PROPERTIES EXPORT_NAME kernels)
set_target_properties(engram_engine PROPERTIES EXPORT_NAME engine)
set_target_properties(engram_models PROPERTIES EXPORT_NAME models)
set_target_properties(engram_c PROPERTIES EXPORT_NAME c)
# The static libraries name engram_warnings as a link-only dependency; it carries no usage requirements.
set_target_properties(engram_warnings PROPERTIES EXPORT_NAME warnings)

install(TARGETS engram_kernels engram_engine engram_models engram_warnings engram_c
        EXPORT engramTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT engram_development
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT engram_development
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT engram_development)
# The CUDA backend module: lib/ beside the static libraries, where the CLI (bin/../lib) and
# programs linked against engram (their own directory, or $ENGRAM_CUDA_MODULE) look for it.
if(TARGET engram_cuda)
  install(TARGETS engram_cuda LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT engram_development)
endif()
if(TARGET engram)
  install(TARGETS engram RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT engram_cli)
endif()
# The bundled data (digits, reach recording) where executables look for it at run time
# (engine/io/data_dir.hpp): prefix/share/engram/data when installed, and the same place in the build
# tree, linked to the source's data/ (nothing compiled into the binaries names a path).
install(DIRECTORY ${PROJECT_SOURCE_DIR}/data/ DESTINATION ${CMAKE_INSTALL_DATADIR}/engram/data COMPONENT engram_cli)
file(MAKE_DIRECTORY ${PROJECT_BINARY_DIR}/share/engram)
file(CREATE_LINK ${PROJECT_SOURCE_DIR}/data ${PROJECT_BINARY_DIR}/share/engram/data SYMBOLIC)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/kernels/include/ ${PROJECT_SOURCE_DIR}/engine/include/
                  ${PROJECT_SOURCE_DIR}/models/include/ ${PROJECT_SOURCE_DIR}/capi/include/
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT engram_development)

set(ENGRAM_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/engram)
install(EXPORT engramTargets NAMESPACE engram:: DESTINATION ${ENGRAM_CMAKE_DIR} COMPONENT engram_development)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/engramConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/engramConfig.cmake INSTALL_DESTINATION ${ENGRAM_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/engramConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/engramConfig.cmake ${PROJECT_BINARY_DIR}/engramConfigVersion.cmake
        DESTINATION ${ENGRAM_CMAKE_DIR} COMPONENT engram_development)

# engram.pc finds its prefix relative to itself, so the installed tree can move.
file(RELATIVE_PATH ENGRAM_PC_RELATIVE_PREFIX "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
string(REGEX REPLACE "/$" "" ENGRAM_PC_RELATIVE_PREFIX "${ENGRAM_PC_RELATIVE_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/engram.pc.in ${PROJECT_BINARY_DIR}/engram.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/engram.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT engram_development)
