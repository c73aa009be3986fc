# Compiles the hand-written and the SWIG-generated Java sources into one jar.
# Run by swig/java/CMakeLists.txt with -DJAVAC -DJAR -DSOURCE_DIR
# -DGENERATED_DIR -DCLASSES_DIR -DJAR_FILE -DVERSION.
file(GLOB_RECURSE hand ${SOURCE_DIR}/*.java)
file(GLOB generated ${GENERATED_DIR}/*.java)
if(NOT generated)
  message(FATAL_ERROR "build_jar: SWIG generated no Java sources in ${GENERATED_DIR}")
endif()
file(REMOVE_RECURSE ${CLASSES_DIR})
file(MAKE_DIRECTORY ${CLASSES_DIR})
execute_process(
  COMMAND ${JAVAC} --release 17 -encoding UTF-8 -Xlint:all,-serial,-try -d ${CLASSES_DIR} ${hand} ${generated}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "build_jar: javac failed (${rc})")
endif()
file(WRITE ${CLASSES_DIR}/../MANIFEST.MF
  "Implementation-Title: boundarytrace\nImplementation-Version: ${VERSION}\nAutomatic-Module-Name: dev.boundarytrace\n")
execute_process(
  COMMAND ${JAR} --create --file ${JAR_FILE} --manifest ${CLASSES_DIR}/../MANIFEST.MF -C ${CLASSES_DIR} .
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "build_jar: jar failed (${rc})")
endif()
