# The disk image (docs/storage.md, "The disk image"): a FAT32 volume made
# with mtools (mformat, mcopy) that holds some of the built programs and a
# few files, for the virtio-blk driver and the FAT server to read.
#
#   herald_disk_image(TARGET disk-image OUTPUT build/disk/herald-disk.img SIZE_MIB 64
#       PROGRAMS hello ... FILES readme.txt=path ...)
#       -> OUTPUT (ALL), rebuilt when a program or file changes; each program
#          goes in the root under its own name, each file under the name
#          before '='. OUTPUT.contents lists what is on it, "name host-path"
#          a line (host-fat compares each file with its source).
#
# The image is the same from build to build for the same inputs: a fixed
# volume serial number, and SOURCE_DATE_EPOCH for every timestamp mtools
# writes. FAT32 needs 65525 clusters at least: with mformat's 512-byte
# clusters for this size, about 33 MiB.
find_program(HERALD_MFORMAT mformat REQUIRED)
find_program(HERALD_MCOPY mcopy REQUIRED)

# 2026-01-01 00:00 UTC: the date every file on the image carries.
set(HERALD_DISK_EPOCH 1767225600)
# "HERA" as the FAT volume serial number.
set(HERALD_DISK_SERIAL 48455241)

function(herald_disk_image)
    cmake_parse_arguments(PARSE_ARGV 0 ARG "" "TARGET;OUTPUT;SIZE_MIB" "PROGRAMS;FILES")
    if(NOT ARG_TARGET OR NOT ARG_OUTPUT OR NOT ARG_SIZE_MIB)
        message(FATAL_ERROR "herald_disk_image: TARGET, OUTPUT and SIZE_MIB are required")
    endif()
    if(ARG_SIZE_MIB LESS 34)
        message(FATAL_ERROR "herald_disk_image: FAT32 needs at least 34 MiB here (65525 clusters)")
    endif()
    math(EXPR sectors "${ARG_SIZE_MIB} * 2048")
    set(staging ${ARG_OUTPUT}.tmp)
    set(mtools ${CMAKE_COMMAND} -E env MTOOLS_SKIP_CHECK=1 SOURCE_DATE_EPOCH=${HERALD_DISK_EPOCH})
    set(commands
        COMMAND ${CMAKE_COMMAND} -E rm -f ${staging}
        COMMAND ${mtools} ${HERALD_MFORMAT} -i ${staging} -C -F -T ${sectors} -N ${HERALD_DISK_SERIAL} -v HERALD ::)
    set(depends "")
    set(contents "")
    foreach(program ${ARG_PROGRAMS})
        set(elf $<TARGET_PROPERTY:${program},HERALD_USER_ELF>)
        list(APPEND commands COMMAND ${mtools} ${HERALD_MCOPY} -i ${staging} ${elf} ::${program})
        list(APPEND depends ${program} ${elf})
        string(APPEND contents "${program} ${elf}\n")
    endforeach()
    foreach(file ${ARG_FILES})
        string(REPLACE "=" ";" parts "${file}")
        list(GET parts 0 name)
        list(GET parts 1 path)
        list(APPEND commands COMMAND ${mtools} ${HERALD_MCOPY} -i ${staging} ${path} ::${name})
        list(APPEND depends ${path})
        string(APPEND contents "${name} ${path}\n")
    endforeach()
    get_filename_component(folder ${ARG_OUTPUT} DIRECTORY)
    add_custom_command(OUTPUT ${ARG_OUTPUT}
        COMMAND ${CMAKE_COMMAND} -E make_directory ${folder}
        ${commands}
        COMMAND ${CMAKE_COMMAND} -E rename ${staging} ${ARG_OUTPUT}
        DEPENDS ${depends}
        VERBATIM
        COMMENT "Making the FAT32 disk image ${ARG_OUTPUT}")
    add_custom_target(${ARG_TARGET} ALL DEPENDS ${ARG_OUTPUT})
    file(GENERATE OUTPUT ${ARG_OUTPUT}.contents CONTENT "${contents}")
    set_target_properties(${ARG_TARGET} PROPERTIES HERALD_DISK_IMAGE ${ARG_OUTPUT})
endfunction()
