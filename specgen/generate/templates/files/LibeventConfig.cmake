# LibeventConfig.cmake for Azure Linux's libevent, which is built with autotools and ships no
# CMake package config. Triton's server and libevhtp call find_package(Libevent CONFIG) and use
# LIBEVENT_INCLUDE_DIRS / LIBEVENT_LIBRARIES; this provides those and libevent:: targets.
find_path(LIBEVENT_INCLUDE_DIR event2/event.h)
set(LIBEVENT_INCLUDE_DIRS "${LIBEVENT_INCLUDE_DIR}")
set(LIBEVENT_LIBRARIES "")
foreach(_component IN ITEMS core extra pthreads)
  find_library(LIBEVENT_${_component}_LIBRARY NAMES event_${_component})
  if(LIBEVENT_${_component}_LIBRARY)
    list(APPEND LIBEVENT_LIBRARIES "${LIBEVENT_${_component}_LIBRARY}")
    if(NOT TARGET libevent::${_component})
      add_library(libevent::${_component} UNKNOWN IMPORTED)
      set_target_properties(libevent::${_component} PROPERTIES
        IMPORTED_LOCATION "${LIBEVENT_${_component}_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${LIBEVENT_INCLUDE_DIR}")
    endif()
  endif()
endforeach()
if(LIBEVENT_INCLUDE_DIR AND LIBEVENT_core_LIBRARY)
  set(Libevent_FOUND TRUE)
else()
  set(Libevent_FOUND FALSE)
  set(Libevent_NOT_FOUND_MESSAGE "libevent-devel is not installed (event2/event.h, libevent_core)")
endif()
