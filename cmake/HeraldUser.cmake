# How Herald's ring-3 programs are compiled, linked and put in the boot
# archive that every image boots with.
#
#   herald_add_user_program(hello SOURCES programs/hello.cpp)
#       -> ${CMAKE_CURRENT_BINARY_DIR}/hello.elf and a target `hello` (ALL)
#   herald_boot_archive(OUTPUT herald.archive PROGRAMS memory hello FILES init.manifest=init.manifest)
#       -> a boot archive (docs/boot-archive.md) built by tools/mkarchive
#
# Needs cmake/HeraldKernel.cmake first (the cross flags, ld.lld).

# The kernel's cross flags, except -mgeneral-regs-only: user code may use
# SSE (the kernel saves user FPU state). -mno-red-zone stays: harmless in
# ring 3, where interrupts switch to the kernel stack.
set(HERALD_USER_FLAGS ${HERALD_CROSS_COMMON_FLAGS})
if(HERALD_WERROR)
    list(APPEND HERALD_USER_FLAGS -Werror)
endif()
set(HERALD_USER_LINKER_SCRIPT ${PROJECT_SOURCE_DIR}/user/runtime/user.ld)

# An OBJECT library of user code (C++20 and NASM elf64 sources).
function(herald_user_objects name)
    add_library(${name} OBJECT ${ARGN})
    target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
    target_compile_options(${name} PRIVATE
        $<$<COMPILE_LANGUAGE:CXX>:${HERALD_USER_FLAGS}>)
    set_target_properties(${name} PROPERTIES CXX_STANDARD 20)
endfunction()

# The runtime every program links with: _start and the memory functions.
# Defined once, by the first herald_add_user_program().
function(herald_user_runtime)
    if(NOT TARGET herald_user_runtime)
        herald_user_objects(herald_user_runtime
            ${PROJECT_SOURCE_DIR}/user/runtime/start.asm
            ${PROJECT_SOURCE_DIR}/user/runtime/runtime.cpp
            ${PROJECT_SOURCE_DIR}/user/runtime/libherald.cpp
            ${PROJECT_SOURCE_DIR}/user/runtime/heap_allocator.cpp
            ${PROJECT_SOURCE_DIR}/user/runtime/thread.cpp
            ${PROJECT_SOURCE_DIR}/microkernel/lib/format.cpp
            ${PROJECT_SOURCE_DIR}/microkernel/lib/memory_functions.cpp)
        target_link_libraries(herald_user_runtime PRIVATE libipc)
    endif()
endfunction()

# herald_add_user_program(NAME SOURCES source... [LIBS library...])
# (the SOURCES keyword may be omitted)
# Links a static ELF64 executable at abi::kUserCodeBase with
# user/runtime/user.ld: NAME.elf in the current binary directory, target NAME.
# The boot archive carries NAME.boot.elf, the same ELF without its debug
# sections (a quarter of the size: the archive must leave small machines
# memory to manage; qemu-memory-48M boots with 48 MiB); NAME.elf keeps them
# for GDB. The archive's ELF's path is the target's HERALD_USER_ELF
# property, and every program
# is listed in the global property HERALD_USER_PROGRAMS. Its function
# symbols (llvm-nm | mksymtab, as for the kernel) go to NAME.sym
# (HERALD_USER_SYMBOLS), which the boot archive carries so that the kernel
# can name the function a faulting program was in.
# LIBS: header-only (INTERFACE) libraries such as libipc, whose include
# directories and definitions the program's sources get; nothing of theirs
# is linked (the ELF is linked from the objects alone).
find_program(HERALD_USER_OBJCOPY llvm-objcopy REQUIRED)

function(herald_add_user_program name)
    cmake_parse_arguments(PARSE_ARGV 1 ARG "" "" "SOURCES;LIBS")
    set(sources ${ARG_SOURCES} ${ARG_UNPARSED_ARGUMENTS})
    if(NOT sources)
        message(FATAL_ERROR "herald_add_user_program(${name}): no sources")
    endif()
    string(LENGTH "${name}" length)
    if(length GREATER 27)
        message(FATAL_ERROR "herald_add_user_program(${name}): at most 27 characters "
            "(the boot archive's names have 31, and the symbols' entry is NAME.sym)")
    endif()
    herald_user_runtime()
    herald_user_objects(${name}_objects ${sources})
    # libipc always: the runtime's header (user/runtime/herald.hpp) uses it.
    target_link_libraries(${name}_objects PRIVATE libipc ${ARG_LIBS})

    set(elf ${CMAKE_CURRENT_BINARY_DIR}/${name}.elf)
    set(boot_elf ${CMAKE_CURRENT_BINARY_DIR}/${name}.boot.elf)
    set(symbols ${CMAKE_CURRENT_BINARY_DIR}/${name}.sym)
    set(objects $<TARGET_OBJECTS:herald_user_runtime> $<TARGET_OBJECTS:${name}_objects>)
    add_custom_command(OUTPUT ${elf} ${boot_elf} ${symbols}
        COMMAND ${HERALD_LLD} -T ${HERALD_USER_LINKER_SCRIPT} -static -nostdlib
                -z max-page-size=0x1000 -z noexecstack --build-id=none --no-dynamic-linker
                -o ${elf} ${objects}
        COMMAND ${HERALD_USER_OBJCOPY} --strip-debug ${elf} ${boot_elf}
        COMMAND sh -c "\"$0\" -n -C -S --defined-only \"$1\" > \"$2\"" ${HERALD_NM} ${elf} ${symbols}.nm
        COMMAND $<TARGET_FILE:mksymtab> ${symbols}.nm ${symbols}
        DEPENDS ${objects} ${HERALD_USER_LINKER_SCRIPT} mksymtab
        COMMAND_EXPAND_LISTS
        VERBATIM
        COMMENT "Linking user program ${name}.elf")
    add_custom_target(${name} ALL DEPENDS ${elf} ${boot_elf} ${symbols})
    set_target_properties(${name} PROPERTIES HERALD_USER_ELF ${boot_elf} HERALD_USER_SYMBOLS ${symbols})
    set_property(GLOBAL APPEND PROPERTY HERALD_USER_PROGRAMS ${name})
endfunction()


# herald_add_server(NAME SOURCES source... [LIBS library...]
#                   [START restart|ignore|halt [ARGUMENT n] [WAIT] [GRANTS grant...]]
#                   [HOST_SOURCES source...])
# A server: a user program (above) that links libipc, which goes in the boot
# archive like every program and can be started by name through the loader
# (`start NAME` in the shell). One folder under servers/ with a
# CMakeLists.txt holding this call is all a new server needs
# (docs/new-server.md): servers/CMakeLists.txt finds every such folder.
#   START     init starts it at every boot, after the kernel's own servers:
#             a line `NAME ARGUMENT POLICY [wait]` in init's manifest
#             (docs/system.md, "init"); restart: start it again when it
#             ends, ignore: leave it, halt: power off
#   ARGUMENT  its start parameter (default 0); WAIT: init waits for it
#             to end before the next line
#   GRANTS    the devices a driver may ask the PCI server for, appended to
#             its manifest line as they are: ports=A-B irq=N pci=VVVV:DDDD
#             class=CC dma=PAGES (docs/drivers.md, "Authority: the manifest"),
#             and tasks=list (a TaskList handle from init: user/init/manifest.hpp)
# Its protocol header may live in the folder: the folder's clients include
# it by its path from the project root ("servers/NAME/NAME_protocol.hpp"),
# files in the folder by its name.
# Host tests: every NAME/*_test.cpp (Catch2) is built for the host with the
# server's portable sources, HOST_SOURCES (default: SOURCES without
# main.cpp), into the CTest entry host-NAME (tests/CMakeLists.txt makes it).
function(herald_add_server name)
    cmake_parse_arguments(PARSE_ARGV 1 ARG "WAIT" "START;ARGUMENT" "SOURCES;LIBS;HOST_SOURCES;GRANTS")
    set(sources ${ARG_SOURCES} ${ARG_UNPARSED_ARGUMENTS})
    herald_add_user_program(${name} SOURCES ${sources} LIBS libipc ${ARG_LIBS})
    set_property(GLOBAL APPEND PROPERTY HERALD_SERVERS ${name})
    if(ARG_START)
        if(NOT ARG_START MATCHES "^(restart|ignore|halt)$")
            message(FATAL_ERROR "herald_add_server(${name}): START ${ARG_START}: restart, ignore or halt")
        endif()
        if(NOT ARG_ARGUMENT)
            set(ARG_ARGUMENT 0)
        endif()
        set(line "${name} ${ARG_ARGUMENT} ${ARG_START}")
        if(ARG_WAIT)
            string(APPEND line " wait")
        endif()
        foreach(grant ${ARG_GRANTS})
            if(NOT grant MATCHES "^((ports|irq|pci|class|dma)=[0-9A-Fa-fx:-]+|tasks=list)$")
                message(FATAL_ERROR "herald_add_server(${name}): GRANTS ${grant}: ports=A-B, irq=N, pci=VVVV:DDDD, class=CC, dma=PAGES or tasks=list")
            endif()
            string(APPEND line " ${grant}")
        endforeach()
        set_property(GLOBAL APPEND PROPERTY HERALD_MANIFEST_LINES "${line}")
    elseif(ARG_ARGUMENT OR ARG_WAIT OR ARG_GRANTS)
        message(FATAL_ERROR "herald_add_server(${name}): ARGUMENT, WAIT and GRANTS go with START")
    endif()

    file(GLOB host_tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_test.cpp)
    if(host_tests)
        set(host_sources ${ARG_HOST_SOURCES})
        if(NOT host_sources)
            foreach(source ${sources})
                get_filename_component(file_name ${source} NAME)
                if(NOT file_name STREQUAL "main.cpp")
                    get_filename_component(source ${source} ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
                    list(APPEND host_sources ${source})
                endif()
            endforeach()
        endif()
        set_property(GLOBAL APPEND PROPERTY HERALD_SERVER_HOST_TESTS ${name})
        set_property(GLOBAL PROPERTY HERALD_SERVER_HOST_TESTS_${name} ${host_tests} ${host_sources})
        set_property(GLOBAL PROPERTY HERALD_SERVER_FOLDER_${name} ${CMAKE_CURRENT_SOURCE_DIR})
    endif()
endfunction()

# herald_init_manifest(OUTPUT path BASE path): init's manifest as the boot
# archive carries it: the lines of herald_add_server(... START ...) calls,
# then BASE (user/init/init.manifest: the shell). Written at configure time,
# only when its text changes.
function(herald_init_manifest)
    cmake_parse_arguments(PARSE_ARGV 0 ARG "" "OUTPUT;BASE" "")
    file(READ ${ARG_BASE} base)
    get_property(lines GLOBAL PROPERTY HERALD_MANIFEST_LINES)
    set(text "# Made by the build (cmake/HeraldUser.cmake, herald_init_manifest) from\n")
    string(APPEND text "# herald_add_server(... START ...) calls and user/init/init.manifest.\n")
    foreach(line ${lines})
        string(APPEND text "${line}\n")
    endforeach()
    string(APPEND text "${base}")
    file(WRITE ${ARG_OUTPUT}.new "${text}")
    configure_file(${ARG_OUTPUT}.new ${ARG_OUTPUT} COPYONLY)
    set_property(DIRECTORY ${PROJECT_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${ARG_BASE})
endfunction()

# Helpers of herald_boot_archive() (macros: they set its variables).
# The ELF of a user program target, after checking it is one.
macro(_herald_archive_elf program)
    if(NOT TARGET ${program})
        message(FATAL_ERROR "herald_boot_archive(${ARG_OUTPUT}): ${program} is not a target; "
            "define it with herald_add_user_program() first")
    endif()
    get_target_property(elf ${program} HERALD_USER_ELF)
    if(NOT elf)
        message(FATAL_ERROR "herald_boot_archive(${ARG_OUTPUT}): ${program} is not a user program")
    endif()
    list(APPEND depends ${program} ${elf})
endmacro()
# NAME=VALUE from FILES and CORRUPT: sets `entry_name` and `entry_value`.
macro(_herald_archive_pair keyword pair)
    if(NOT "${pair}" MATCHES "^([^=]+)=(.+)$")
        message(FATAL_ERROR "herald_boot_archive(${ARG_OUTPUT}): ${keyword} \"${pair}\" is not name=value")
    endif()
    set(entry_name "${CMAKE_MATCH_1}")
    set(entry_value "${CMAKE_MATCH_2}")
endmacro()
macro(_herald_archive_check_name name)
    string(LENGTH "${name}" length)
    if(NOT "${name}" MATCHES "^[A-Za-z0-9._-]+$" OR length GREATER 31)
        message(FATAL_ERROR "herald_boot_archive(${ARG_OUTPUT}): invalid entry name \"${name}\" "
            "(1 to 31 characters of [A-Za-z0-9._-])")
    endif()
endmacro()

# herald_boot_archive(OUTPUT path PROGRAMS target... FILES name=path... [CORRUPT name=program-target...]
#                     [TARGET name])
# Builds the boot archive OUTPUT (docs/boot-archive.md) with tools/mkarchive,
# entries in this order:
#   PROGRAMS  user programs (herald_add_user_program()): an entry of kind
#             Program per target, named after the target, holding its ELF
#             (and, after every other entry, one of kind Symbols per
#             program, NAME.sym, holding its symbol table)
#   FILES     name=path: an entry of kind File holding the file at path
#             (a relative path is relative to the current source directory)
#   CORRUPT   name=program-target, for tests: an entry `name` of kind Program
#             holding only the first 100 bytes of that program's ELF
#             (mkarchive's kind program-truncate100): its checksum is right,
#             so the archive reads fine, and the loader must refuse the
#             program (parse_elf(): Truncated)
#   TARGET    the custom target (ALL) that builds OUTPUT; by default OUTPUT's
#             file name with each character other than [A-Za-z0-9_] made '_'
#             (herald.archive -> herald_archive)
# OUTPUT (relative: to the current binary directory) is rebuilt when a
# program, a file or mkarchive changes; the target's HERALD_ARCHIVE_FILE
# property holds its full path. Names are checked here already (1 to 31
# characters of [A-Za-z0-9._-]); mkarchive checks them again, with duplicates.
function(herald_boot_archive)
    cmake_parse_arguments(PARSE_ARGV 0 ARG "" "OUTPUT;TARGET" "PROGRAMS;FILES;CORRUPT")
    if(NOT ARG_OUTPUT)
        message(FATAL_ERROR "herald_boot_archive: no OUTPUT")
    endif()
    if(ARG_UNPARSED_ARGUMENTS)
        message(FATAL_ERROR "herald_boot_archive(${ARG_OUTPUT}): unexpected arguments ${ARG_UNPARSED_ARGUMENTS}")
    endif()
    if(NOT TARGET mkarchive)
        message(FATAL_ERROR "herald_boot_archive(${ARG_OUTPUT}): no mkarchive target; add_subdirectory(tools) first")
    endif()
    get_filename_component(output "${ARG_OUTPUT}" ABSOLUTE BASE_DIR ${CMAKE_CURRENT_BINARY_DIR})
    set(target ${ARG_TARGET})
    if(NOT target)
        get_filename_component(target "${output}" NAME)
        string(MAKE_C_IDENTIFIER "${target}" target)
    endif()

    set(entries "")
    set(symbol_entries "")
    set(depends mkarchive)
    foreach(program ${ARG_PROGRAMS})
        _herald_archive_check_name(${program})
        _herald_archive_elf(${program})
        get_target_property(symbols ${program} HERALD_USER_SYMBOLS)
        list(APPEND entries "${program}=program:${elf}")
        list(APPEND symbol_entries "${program}.sym=symbols:${symbols}")
        list(APPEND depends ${symbols})
    endforeach()
    foreach(pair ${ARG_FILES})
        _herald_archive_pair(FILES "${pair}")
        _herald_archive_check_name("${entry_name}")
        get_filename_component(path "${entry_value}" ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
        list(APPEND entries "${entry_name}=file:${path}")
        list(APPEND depends ${path})
    endforeach()
    foreach(pair ${ARG_CORRUPT})
        _herald_archive_pair(CORRUPT "${pair}")
        _herald_archive_check_name("${entry_name}")
        _herald_archive_elf(${entry_value})
        list(APPEND entries "${entry_name}=program-truncate100:${elf}")
    endforeach()
    # Symbols last: lookups walk the table in order, and programs are looked
    # up at every spawn, symbols only when a program faults.
    list(APPEND entries ${symbol_entries})
    if(NOT entries)
        message(FATAL_ERROR "herald_boot_archive(${ARG_OUTPUT}): no entries")
    endif()

    get_filename_component(output_name "${output}" NAME)
    add_custom_command(OUTPUT ${output}
        COMMAND $<TARGET_FILE:mkarchive> ${output} ${entries}
        DEPENDS ${depends}
        VERBATIM
        COMMENT "Building boot archive ${output_name}")
    add_custom_target(${target} ALL DEPENDS ${output})
    set_target_properties(${target} PROPERTIES HERALD_ARCHIVE_FILE ${output})
endfunction()
