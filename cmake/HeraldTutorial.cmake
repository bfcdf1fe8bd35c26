# herald_tutorial_server(DOC page FOLDER servers/NAME): builds the server a
# tutorial page spells out, from the page's own code blocks
# (tools/extract-snippets.sh: a block after `<!-- file: PATH -->` is part of
# PATH), so that the page's snippets are compiled, linked into the boot
# archive and tested with everything else. The files go to
# build/tutorial/FOLDER, which is added like a folder of servers/; the page
# is a configure dependency, so an edit to it rebuilds them.
#
# Someone who followed the page has FOLDER in the source tree already: then
# theirs is the one built (servers/CMakeLists.txt finds it) and the page's
# copy is left out, rather than two servers of one name.
function(herald_tutorial_server)
    cmake_parse_arguments(PARSE_ARGV 0 ARG "" "DOC;FOLDER" "")
    set_property(DIRECTORY ${PROJECT_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
        ${ARG_DOC} ${PROJECT_SOURCE_DIR}/tools/extract-snippets.sh)
    if(EXISTS ${PROJECT_SOURCE_DIR}/${ARG_FOLDER})
        message(STATUS "${ARG_FOLDER} exists: it is built instead of the copy from ${ARG_DOC}")
        return()
    endif()
    set(out ${CMAKE_BINARY_DIR}/tutorial)
    execute_process(COMMAND ${PROJECT_SOURCE_DIR}/tools/extract-snippets.sh ${ARG_DOC} ${out} ${ARG_FOLDER}/
        RESULT_VARIABLE status OUTPUT_VARIABLE written ERROR_VARIABLE error)
    if(NOT status EQUAL 0)
        message(FATAL_ERROR "herald_tutorial_server: cannot take the files from ${ARG_DOC}: ${error}")
    endif()
    if(NOT EXISTS ${out}/${ARG_FOLDER}/CMakeLists.txt)
        message(FATAL_ERROR "herald_tutorial_server: ${ARG_DOC} spells out no ${ARG_FOLDER}/CMakeLists.txt")
    endif()
    add_subdirectory(${out}/${ARG_FOLDER} ${CMAKE_BINARY_DIR}/tutorial-build/${ARG_FOLDER})
endfunction()
