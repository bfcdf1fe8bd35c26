# How Herald's ring-0 and ring-3 code is compiled and linked.
#
# One CMake build holds both the cross targets (bare x86-64, compiled by
# Clang with --target) and the host tests (compiled by the same Clang for the
# host). Cross targets are OBJECT libraries; images are linked by ld.lld
# through custom commands, because CMake's executable rules would use the
# host's linker driver.

find_program(HERALD_LLD ld.lld REQUIRED)
find_program(HERALD_NM llvm-nm REQUIRED)
find_program(HERALD_OBJCOPY llvm-objcopy REQUIRED)

execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-resource-dir
    OUTPUT_VARIABLE HERALD_CLANG_RESOURCE_DIR OUTPUT_STRIP_TRAILING_WHITESPACE)

# Freestanding bare-metal code. Why each flag:
#   -mno-red-zone        interrupts push onto the interrupted stack; the 128
#                        bytes below RSP are not ours to keep (seed: "Stack
#                        frame and the red zone")
#   -mgeneral-regs-only  the kernel must not touch FPU/SSE state it does not save
#   -fno-omit-frame-pointer  panic backtraces walk the RBP chain, and
#   -fno-optimize-sibling-calls  keeps tail callers in it
#   -nostdinc + clang's resource dir: only freestanding C headers (stdint.h,
#                        stddef.h); Debian's libstdc++ headers need glibc
set(HERALD_CROSS_COMMON_FLAGS
    --target=x86_64-unknown-none-elf
    -std=c++20 -ffreestanding -fno-exceptions -fno-rtti -fno-threadsafe-statics
    -fno-stack-protector -fno-pic -fno-pie -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -fno-optimize-sibling-calls
    -mno-red-zone -fno-builtin -nostdinc -isystem ${HERALD_CLANG_RESOURCE_DIR}/include
    -g -O2 -Wall -Wextra)
# -Wthread-safety: locks and the fields they guard are checked (sync/thread_safety.hpp)
set(HERALD_KERNEL_FLAGS ${HERALD_CROSS_COMMON_FLAGS} -mgeneral-regs-only -Wthread-safety)
if(HERALD_WERROR)
    list(APPEND HERALD_KERNEL_FLAGS -Werror)
endif()

# An OBJECT library of kernel code.
function(herald_kernel_objects name)
    add_library(${name} OBJECT ${ARGN})
    target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
    target_compile_options(${name} PRIVATE
        $<$<COMPILE_LANGUAGE:CXX>:${HERALD_KERNEL_FLAGS}>)
    set_target_properties(${name} PROPERTIES CXX_STANDARD 20)
endfunction()

# Links a kernel image from object libraries, in two passes so that the
# image carries its own symbol table (docs/debugging.md):
#   1. link with an empty .ksyms section
#   2. llvm-nm | mksymtab -> the symbol table blob, wrapped in an object
#   3. link again with it; .ksyms is last, so no other address moves
#      (tools/check-link-passes.sh fails the build if one does)
# Produces NAME.elf (ELF64: GRUB, GDB) and NAME32.elf (the same image as
# ELF32, for QEMU's Multiboot loader, which refuses 64-bit ELF files).
function(herald_kernel_image name)
    set(dir ${CMAKE_CURRENT_BINARY_DIR})
    set(script ${PROJECT_SOURCE_DIR}/microkernel/arch/x86_64/kernel.ld)
    set(objects)
    foreach(lib ${ARGN})
        list(APPEND objects $<TARGET_OBJECTS:${lib}>)
    endforeach()
    set(link_flags -T ${script} -nostdlib -static -z max-page-size=0x1000 --no-relax --build-id=none)

    add_custom_command(OUTPUT ${dir}/${name}.elf ${dir}/${name}32.elf ${dir}/${name}.ksyms
        COMMAND ${CMAKE_COMMAND} -E touch ${dir}/${name}.empty-ksyms
        COMMAND ${HERALD_OBJCOPY} -I binary -O elf64-x86-64 --rename-section=.data=.ksyms,alloc,load,readonly,data,contents
                ${dir}/${name}.empty-ksyms ${dir}/${name}.empty-ksyms.o
        COMMAND ${HERALD_LLD} ${link_flags} -o ${dir}/${name}-stage1.elf ${objects} ${dir}/${name}.empty-ksyms.o
        COMMAND sh -c "\"$0\" -n -C -S --defined-only \"$1\" > \"$2\"" ${HERALD_NM} ${dir}/${name}-stage1.elf ${dir}/${name}.nm
        COMMAND $<TARGET_FILE:mksymtab> ${dir}/${name}.nm ${dir}/${name}.ksyms
        COMMAND ${HERALD_OBJCOPY} -I binary -O elf64-x86-64 --rename-section=.data=.ksyms,alloc,load,readonly,data,contents
                ${dir}/${name}.ksyms ${dir}/${name}.ksyms.o
        COMMAND ${HERALD_LLD} ${link_flags} -o ${dir}/${name}.elf ${objects} ${dir}/${name}.ksyms.o
        COMMAND ${PROJECT_SOURCE_DIR}/tools/check-link-passes.sh ${HERALD_NM} ${dir}/${name}-stage1.elf ${dir}/${name}.elf
        COMMAND ${HERALD_OBJCOPY} -O elf32-i386 ${dir}/${name}.elf ${dir}/${name}32.elf
        DEPENDS ${objects} ${script} mksymtab ${PROJECT_SOURCE_DIR}/tools/check-link-passes.sh
        COMMAND_EXPAND_LISTS
        VERBATIM
        COMMENT "Linking kernel image ${name}.elf (two passes, with embedded symbols)")
    add_custom_target(${name} ALL DEPENDS ${dir}/${name}.elf ${dir}/${name}32.elf)
endfunction()

# A bootable GRUB ISO (Multiboot2; BIOS and UEFI) holding KERNEL_TARGET's
# image and the boot archive.
function(herald_iso name kernel_target)
    set(dir ${CMAKE_CURRENT_BINARY_DIR}/${name}.root)
    set(kernel ${CMAKE_CURRENT_BINARY_DIR}/${kernel_target}.elf)
    find_program(HERALD_GRUB_MKRESCUE grub-mkrescue REQUIRED)
    add_custom_command(OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/${name}.iso
        COMMAND ${CMAKE_COMMAND} -E make_directory ${dir}/boot/grub
        COMMAND ${CMAKE_COMMAND} -E copy ${PROJECT_SOURCE_DIR}/boot/grub.cfg ${dir}/boot/grub/grub.cfg
        COMMAND ${CMAKE_COMMAND} -E copy ${kernel} ${dir}/boot/herald.elf
        COMMAND ${CMAKE_COMMAND} -E copy ${HERALD_ARCHIVE} ${dir}/boot/herald.archive
        COMMAND ${HERALD_GRUB_MKRESCUE} --quiet -o ${CMAKE_CURRENT_BINARY_DIR}/${name}.iso ${dir}
        DEPENDS ${kernel} ${PROJECT_SOURCE_DIR}/boot/grub.cfg ${HERALD_ARCHIVE} ${kernel_target} herald_archive
        VERBATIM
        COMMENT "Making GRUB ISO ${name}.iso")
    add_custom_target(${name}-iso ALL DEPENDS ${CMAKE_CURRENT_BINARY_DIR}/${name}.iso)
endfunction()

# Placements (docs/placement.md): which of the servers that can move (memory,
# loader, console) an image builds into ring 0. Each such server is two
# OBJECT libraries, herald_<server>_ring3 (the kernel's side of the ring-3
# server) and herald_<server>_ring0 (the server's portable service class in
# the kernel), defined in microkernel/CMakeLists.txt.
#
#   herald_placement(NAME [RING0 server...])
#       records placement NAME: for each server, its ring-0 library if
#       listed, else its ring-3 one (global property HERALD_PLACEMENTS
#       lists the placements in order)
#   herald_placement_image(IMAGE PLACEMENT library...)
#       links kernel image IMAGE (herald_kernel_image) from the kernel core,
#       PLACEMENT's server libraries and the given ones (what runs after
#       boot: the shell's bootstrap, the self-tests, the benchmarks)
set(HERALD_MOVABLE_SERVERS memory loader console)

function(herald_placement name)
    cmake_parse_arguments(PARSE_ARGV 1 ARG "" "" "RING0")
    if(ARG_UNPARSED_ARGUMENTS)
        message(FATAL_ERROR "herald_placement(${name}): unexpected arguments ${ARG_UNPARSED_ARGUMENTS}")
    endif()
    foreach(server ${ARG_RING0})
        if(NOT server IN_LIST HERALD_MOVABLE_SERVERS)
            message(FATAL_ERROR "herald_placement(${name}): ${server} is not one of ${HERALD_MOVABLE_SERVERS}")
        endif()
    endforeach()
    set(libraries)
    foreach(server ${HERALD_MOVABLE_SERVERS})
        if(server IN_LIST ARG_RING0)
            list(APPEND libraries herald_${server}_ring0)
        else()
            list(APPEND libraries herald_${server}_ring3)
        endif()
    endforeach()
    set_property(GLOBAL APPEND PROPERTY HERALD_PLACEMENTS ${name})
    set_property(GLOBAL PROPERTY HERALD_PLACEMENT_LIBRARIES_${name} ${libraries})
endfunction()

function(herald_placement_image image placement)
    get_property(libraries GLOBAL PROPERTY HERALD_PLACEMENT_LIBRARIES_${placement})
    if(NOT libraries)
        message(FATAL_ERROR "herald_placement_image(${image}): no placement ${placement} (herald_placement)")
    endif()
    herald_kernel_image(${image} herald_kernel_core ${libraries} ${ARGN})
endfunction()
