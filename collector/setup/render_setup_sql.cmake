# Writes the psql setup script that `streamtrack-collector setup-db --print-sql` prints to OUT.
#   cmake -DCOLLECTOR=<path to streamtrack-collector> -DOUT=<file> -P render_setup_sql.cmake
# The file is replaced only once the command succeeded, so a failed run leaves no half script.
execute_process(
  COMMAND "${COLLECTOR}" setup-db --print-sql
  OUTPUT_FILE "${OUT}.tmp"
  RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  file(REMOVE "${OUT}.tmp")
  message(FATAL_ERROR "${COLLECTOR} setup-db --print-sql failed: ${result}")
endif()
file(RENAME "${OUT}.tmp" "${OUT}")
