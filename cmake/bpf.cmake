# Helpers to build BPF programs (clang -target bpf) and their skeletons.
#
#   bpf_skeleton(NAME SRC [DEPENDS hdr...])
#
# compiles SRC (a .bpf.c) to ${CMAKE_CURRENT_BINARY_DIR}/NAME.bpf.o, generates
# NAME.skel.h beside it with `bpftool gen skeleton` (skeleton struct NAME_bpf,
# functions NAME_bpf__open() ...), and defines an INTERFACE library NAME_skel
# that puts that directory on the include path and builds the skeleton first.
# Header dependencies come from clang's depfile; DEPENDS adds explicit ones.
# Uses the Linux UAPI headers and libbpf's bpf_helpers.h; no vmlinux.h.

find_program(BPF_CLANG NAMES clang clang-16 clang-15 clang-14 REQUIRED)
find_program(BPFTOOL bpftool PATHS /usr/sbin /sbin /usr/local/sbin REQUIRED)

# asm/types.h lives in the multiarch include dir, which clang -target bpf does not search.
execute_process(COMMAND ${CMAKE_C_COMPILER} -print-multiarch
  OUTPUT_VARIABLE BPF_MULTIARCH OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT BPF_MULTIARCH)
  set(BPF_MULTIARCH x86_64-linux-gnu)
endif()
string(REGEX MATCH "^[a-z0-9_]+" BPF_HOST_ARCH "${BPF_MULTIARCH}")
if(BPF_HOST_ARCH STREQUAL "x86_64")
  set(BPF_TARGET_ARCH x86)
elseif(BPF_HOST_ARCH STREQUAL "aarch64")
  set(BPF_TARGET_ARCH arm64)
else()
  set(BPF_TARGET_ARCH ${BPF_HOST_ARCH})
endif()

set(BPF_CFLAGS -O2 -g -Wall -Wextra -Werror -target bpf -D__TARGET_ARCH_${BPF_TARGET_ARCH}
  -I/usr/include/${BPF_MULTIARCH} -I${CMAKE_SOURCE_DIR}/include)
foreach(dir ${LIBBPF_INCLUDE_DIRS})
  list(APPEND BPF_CFLAGS -I${dir})
endforeach()

function(bpf_skeleton NAME SRC)
  cmake_parse_arguments(PARSE_ARGV 2 ARG "" "" "DEPENDS")
  get_filename_component(src_abs ${SRC} ABSOLUTE)
  set(obj ${CMAKE_CURRENT_BINARY_DIR}/${NAME}.bpf.o)
  set(skel ${CMAKE_CURRENT_BINARY_DIR}/${NAME}.skel.h)
  set(dep ${CMAKE_CURRENT_BINARY_DIR}/${NAME}.bpf.d)

  add_custom_command(OUTPUT ${obj}
    COMMAND ${BPF_CLANG} ${BPF_CFLAGS} -MD -MF ${dep} -MT ${obj} -c ${src_abs} -o ${obj}
    DEPENDS ${src_abs} ${ARG_DEPENDS}
    DEPFILE ${dep}
    COMMENT "BPF ${NAME}.bpf.o"
    VERBATIM)
  # Write to a temporary file: a failed bpftool must not leave a truncated header behind.
  add_custom_command(OUTPUT ${skel}
    COMMAND ${BPFTOOL} gen skeleton ${obj} name ${NAME}_bpf > ${skel}.tmp
    COMMAND ${CMAKE_COMMAND} -E rename ${skel}.tmp ${skel}
    DEPENDS ${obj}
    COMMENT "BPF skeleton ${NAME}.skel.h"
    VERBATIM)
  add_custom_target(${NAME}_skel_gen DEPENDS ${skel} ${obj})

  add_library(${NAME}_skel INTERFACE)
  target_include_directories(${NAME}_skel INTERFACE ${CMAKE_CURRENT_BINARY_DIR})
  add_dependencies(${NAME}_skel ${NAME}_skel_gen)
  set_property(TARGET ${NAME}_skel PROPERTY BPF_OBJECT ${obj})
endfunction()
