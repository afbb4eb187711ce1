# Stand-in build root only (Debian 12): the CMake package re2 installs when it is built with
# CMake, as Azure Linux's re2 20240201 is. Debian's 20220601 ships only re2.pc, but Triton's core
# and server call find_package(re2) and link re2::re2.
if(NOT TARGET re2::re2)
  find_path(RE2_INCLUDE_DIR re2/re2.h)
  find_library(RE2_LIBRARY NAMES re2)
  if(NOT RE2_INCLUDE_DIR OR NOT RE2_LIBRARY)
    set(re2_FOUND FALSE)
    set(re2_NOT_FOUND_MESSAGE "re2/re2.h or libre2.so not found: install libre2-dev")
    return()
  endif()
  add_library(re2::re2 UNKNOWN IMPORTED)
  set_target_properties(re2::re2 PROPERTIES
    IMPORTED_LOCATION "${RE2_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${RE2_INCLUDE_DIR}")
endif()
set(re2_FOUND TRUE)
