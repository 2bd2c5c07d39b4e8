# ahpa_module(NAME SOURCES a.c b.c DEPS base log LIBS PkgConfig::X)
#
# One static library per module, named ahpa_<NAME>. DEPS are other modules
# (they must be allowed by test/lint/layers.txt); LIBS are external targets.
function(ahpa_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS;LIBS" ${ARGN})
  add_library(ahpa_${name} STATIC ${M_SOURCES})
  target_include_directories(ahpa_${name}
    PUBLIC ${PROJECT_SOURCE_DIR}/lib/include
    PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  set(deps)
  foreach(d IN LISTS M_DEPS)
    list(APPEND deps ahpa_${d})
  endforeach()
  target_link_libraries(ahpa_${name} PUBLIC ${deps} ${M_LIBS})
endfunction()

# ahpa_unit_test(NAME [SOURCES ...] [DEPS extra modules] [LIBS ...])
#
# A Check runner built from test/unit/<NAME>/*.c (or SOURCES), linked with
# ahpa_<NAME>, registered with ctest under the label "unit".
function(ahpa_unit_test name)
  cmake_parse_arguments(T "" "" "SOURCES;DEPS;LIBS" ${ARGN})
  if(NOT T_SOURCES)
    file(GLOB T_SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/*.c)
  endif()
  add_executable(test_${name} ${T_SOURCES}
                 ${PROJECT_SOURCE_DIR}/test/unit/check_main.c)
  target_include_directories(test_${name} PRIVATE
    ${PROJECT_SOURCE_DIR}/test/unit ${PROJECT_SOURCE_DIR}/lib/${name})
  set(deps ahpa_${name})
  foreach(d IN LISTS T_DEPS)
    list(APPEND deps ahpa_${d})
  endforeach()
  target_link_libraries(test_${name} PRIVATE ${deps} ${T_LIBS} PkgConfig::CHECK
                        Threads::Threads m)
  add_test(NAME unit.${name} COMMAND test_${name})
  set_tests_properties(unit.${name} PROPERTIES LABELS unit TIMEOUT 300
    ENVIRONMENT "CK_FORK=no;AHPA_TEST_DATA=${PROJECT_SOURCE_DIR}/../shared/data;AHPA_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()
