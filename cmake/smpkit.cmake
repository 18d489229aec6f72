# Shared build helpers for smpkit.

set(SMPKIT_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion)
if(SMPKIT_WERROR)
  list(APPEND SMPKIT_WARNINGS -Werror)
endif()

if(SMPKIT_FUZZ)
  # UBSan's vptr check needs RTTI, which the device-side libraries are built without.
  set(SMPKIT_FUZZ_FLAGS -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize=vptr
    -fno-sanitize-recover=undefined)
  add_compile_options(${SMPKIT_FUZZ_FLAGS} -g -O1)
  add_link_options(-fsanitize=address,undefined)
endif()

# The device side (what an embedded SMP server is made of) builds as firmware would: without
# exceptions or RTTI, so that nothing there comes to rely on them.
set(SMPKIT_DEVICE_LIBS base cbor smp transport flash mcuboot mgmt device)
option(SMPKIT_DEVICE_NO_EXCEPTIONS "Build the device-side libraries with -fno-exceptions -fno-rtti" ON)

# Libraries that are test support only: not installed.
set(SMPKIT_UNINSTALLED_LIBS testing)

# smpkit_library(NAME SOURCES ... DEPS ...)
# Defines smpkit_<name> with alias smpkit::<name>, public include dir include/.
function(smpkit_library name)
  cmake_parse_arguments(A "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  if(NOT A_SOURCES)
    # A library still without sources stays a normal static library, so that dependants
    # can link it the same way whatever its state.
    file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/smpkit_${name}_empty.cc "")
    set(A_SOURCES ${CMAKE_CURRENT_BINARY_DIR}/smpkit_${name}_empty.cc)
  endif()
  add_library(smpkit_${name} STATIC ${A_SOURCES})
  target_include_directories(smpkit_${name} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  set_target_properties(smpkit_${name} PROPERTIES EXPORT_NAME ${name})
  target_link_libraries(smpkit_${name} PUBLIC ${A_DEPS} PRIVATE ${A_PRIVATE_DEPS})
  target_compile_options(smpkit_${name} PRIVATE ${SMPKIT_WARNINGS})
  if(SMPKIT_DEVICE_NO_EXCEPTIONS AND name IN_LIST SMPKIT_DEVICE_LIBS)
    target_compile_options(smpkit_${name} PRIVATE -fno-exceptions -fno-rtti)
  endif()
  add_library(smpkit::${name} ALIAS smpkit_${name})
  # Installed as smpkit::<name> (see smpkitConfig.cmake), except test support.
  if(NOT name IN_LIST SMPKIT_UNINSTALLED_LIBS)
    install(TARGETS smpkit_${name} EXPORT smpkitTargets
      ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
    install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
      COMPONENT dev)
  endif()
endfunction()

# smpkit_test(NAME SOURCES ... DEPS ...): a GoogleTest binary registered with CTest.
function(smpkit_test name)
  if(NOT SMPKIT_TESTS OR SMPKIT_FUZZ)
    return()
  endif()
  cmake_parse_arguments(A "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  target_link_libraries(${name} PRIVATE ${A_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  target_compile_options(${name} PRIVATE ${SMPKIT_WARNINGS})
  target_compile_definitions(${name} PRIVATE
    SMPKIT_SHARED_DIR="${SMPKIT_SHARED_DIR}" SMPKIT_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    SMPKIT_BINARY_DIR="${PROJECT_BINARY_DIR}")
  gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 60
    PROPERTIES TIMEOUT 300)
endfunction()

# smpkit_fuzzer(NAME SOURCE DEPS ...)
# With SMPKIT_FUZZ: a libFuzzer binary fuzz_<name>.
# Otherwise: fuzz_replay_<name>, which feeds every file of fuzz/corpus/<name>/ to the
# target, registered as a CTest test.
function(smpkit_fuzzer name source)
  cmake_parse_arguments(A "" "" "DEPS" ${ARGN})
  if(SMPKIT_FUZZ)
    add_executable(fuzz_${name} ${source})
    target_link_libraries(fuzz_${name} PRIVATE ${A_DEPS})
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
  elseif(SMPKIT_TESTS)
    add_executable(fuzz_replay_${name} ${source} ${PROJECT_SOURCE_DIR}/fuzz/replay_main.cc)
    target_link_libraries(fuzz_replay_${name} PRIVATE ${A_DEPS})
    add_test(NAME fuzz_corpus.${name}
      COMMAND fuzz_replay_${name} ${PROJECT_SOURCE_DIR}/fuzz/corpus/${name})
    set_tests_properties(fuzz_corpus.${name} PROPERTIES TIMEOUT 300)
  endif()
endfunction()

get_filename_component(SMPKIT_SHARED_DIR_DEFAULT "${PROJECT_SOURCE_DIR}/../shared" ABSOLUTE)
set(SMPKIT_SHARED_DIR "${SMPKIT_SHARED_DIR_DEFAULT}" CACHE PATH "Path to the shared/ folder with specs and vectors")

# smpkit_component(NAME DEPS ... [PRIVATE_DEPS ...] [TEST_DEPS ...])
# Convention-based library: src/*.cc (minus *_test.cc, *_fuzzer.cc) form smpkit::<name>;
# src/*_test.cc form one GoogleTest binary <name>_test; each src/<x>_fuzzer.cc becomes a
# fuzzer <x> whose corpus lives in fuzz/corpus/<x>/. Files are globbed, so several people
# can add sources to one library without touching its CMakeLists.txt.
function(smpkit_component name)
  cmake_parse_arguments(A "" "" "DEPS;PRIVATE_DEPS;TEST_DEPS" ${ARGN})
  # src/modules/: a library's parts as their own objects (nRF Desktop's modules).
  file(GLOB all_cc CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/*.cc
    ${CMAKE_CURRENT_SOURCE_DIR}/src/modules/*.cc)
  set(lib_src)
  set(test_src)
  set(fuzz_src)
  foreach(f ${all_cc})
    if(f MATCHES "_test\\.cc$")
      list(APPEND test_src ${f})
    elseif(f MATCHES "_fuzzer\\.cc$")
      list(APPEND fuzz_src ${f})
    else()
      list(APPEND lib_src ${f})
    endif()
  endforeach()
  smpkit_library(${name} SOURCES ${lib_src} DEPS ${A_DEPS} PRIVATE_DEPS ${A_PRIVATE_DEPS})
  if(test_src)
    smpkit_test(${name}_test SOURCES ${test_src} DEPS smpkit::${name} ${A_TEST_DEPS})
  endif()
  foreach(f ${fuzz_src})
    get_filename_component(base ${f} NAME_WE)
    string(REGEX REPLACE "_fuzzer$" "" fname ${base})
    smpkit_fuzzer(${fname} ${f} DEPS smpkit::${name} ${A_TEST_DEPS})
  endforeach()
endfunction()
