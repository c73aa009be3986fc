# Runs the JUnit 5 tests of the Java wrapper (CTest test swig_java).
# -DJAVA -DJAVAC -DMVN -DJUNIT_VERSION -DJUNIT_JAR -DJUNIT_DIR -DBT_JAR
# -DBT_LIBRARY_DIR -DTEST_SOURCES -DWORK_DIR
# Under ASan (tests/swig/CMakeLists.txt, swig_java_asan) also -DJAVA_LD_PRELOAD
# -DJAVA_ASAN_OPTIONS -DJAVA_UBSAN_OPTIONS: the environment of the java command
# alone, so that cmake, mvn and javac run without the sanitizer runtimes.
# Any failure (fetching JUnit, compiling, a failed test) fails the test.

# 1. The JUnit console launcher: given, already fetched, or fetched now with
#    mvn (from ~/.m2 when it was fetched before: no network needed then).
if(JUNIT_JAR)
  set(junit ${JUNIT_JAR})
else()
  set(junit ${JUNIT_DIR}/junit-platform-console-standalone-${JUNIT_VERSION}.jar)
  if(NOT EXISTS ${junit})
    file(MAKE_DIRECTORY ${JUNIT_DIR})
    message(STATUS "fetching org.junit.platform:junit-platform-console-standalone:${JUNIT_VERSION} with mvn")
    execute_process(
      COMMAND ${MVN} -q -B -Dstyle.color=never dependency:copy
        -Dartifact=org.junit.platform:junit-platform-console-standalone:${JUNIT_VERSION}:jar
        -DoutputDirectory=${JUNIT_DIR}
      WORKING_DIRECTORY ${JUNIT_DIR}
      RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0 OR NOT EXISTS ${junit})
      message(FATAL_ERROR "could not fetch JUnit with mvn (exit ${rc})")
    endif()
  endif()
endif()

# 2. Compile the tests against the jar under test.
file(GLOB sources ${TEST_SOURCES}/*.java)
file(REMOVE_RECURSE ${WORK_DIR}/classes)
file(MAKE_DIRECTORY ${WORK_DIR}/classes)
execute_process(
  COMMAND ${JAVAC} --release 17 -encoding UTF-8 -Xlint:all,-try
    -cp ${junit}:${BT_JAR} -d ${WORK_DIR}/classes ${sources}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "javac failed on the tests (exit ${rc})")
endif()

# 3. Run them. The console launcher exits non-zero on a failure, or when it
#    found no test (and the JVM on a sanitizer report: abort_on_error=1).
set(launcher "")
if(JAVA_LD_PRELOAD)
  set(launcher ${CMAKE_COMMAND} -E env "LD_PRELOAD=${JAVA_LD_PRELOAD}"
    "ASAN_OPTIONS=${JAVA_ASAN_OPTIONS}" "UBSAN_OPTIONS=${JAVA_UBSAN_OPTIONS}")
endif()
execute_process(
  COMMAND ${launcher} ${JAVA} -ea -Djava.library.path=${BT_LIBRARY_DIR}
    -Dbt.test.tmpdir=${WORK_DIR}
    -jar ${junit} execute
    --disable-banner --disable-ansi-colors --details=tree --fail-if-no-tests
    --class-path ${WORK_DIR}/classes:${BT_JAR}
    --scan-class-path ${WORK_DIR}/classes
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "JUnit reported failures (exit ${rc})")
endif()
