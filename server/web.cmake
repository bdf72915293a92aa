# server/web.cmake — builds the web app (web/, TypeScript + Vite) into <build>/web during
# `cmake --build`, where `tagscape serve` finds it next to the binary
# (server/static_files.h: TAGSCAPE_WEB_DIR, <exe>/../share/tagscape/web, <exe>/web, web/dist).
#
# Runs only when web/package.json exists and npm is installed; otherwise nothing is built
# and serve answers "/" with a page saying how to build the app (the API works either way).
# Each build directory gets its own output (vite --outDir), so several build directories
# never race on web/dist. `npm ci` runs only when web/node_modules is missing. A failing
# web build is reported but does not fail the C++ build; it is retried when web/ changes.
# -DTAGSCAPE_BUILD_WEB=OFF turns the step off.
option(TAGSCAPE_BUILD_WEB "Build web/ with npm (vite) into the build directory" ON)
find_program(TAGSCAPE_NPM npm)
file(GLOB tagscape_web_package CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/web/package.json)
if(TAGSCAPE_BUILD_WEB AND TAGSCAPE_NPM AND tagscape_web_package)
  file(GLOB_RECURSE tagscape_web_inputs CONFIGURE_DEPENDS
    ${CMAKE_SOURCE_DIR}/web/src/* ${CMAKE_SOURCE_DIR}/web/public/*)
  file(GLOB tagscape_web_configs CONFIGURE_DEPENDS
    ${CMAKE_SOURCE_DIR}/web/*.html ${CMAKE_SOURCE_DIR}/web/package.json ${CMAKE_SOURCE_DIR}/web/package-lock.json
    ${CMAKE_SOURCE_DIR}/web/vite.config.* ${CMAKE_SOURCE_DIR}/web/tsconfig*.json)
  set(tagscape_web_stamp ${CMAKE_BINARY_DIR}/web.stamp)
  add_custom_command(OUTPUT ${tagscape_web_stamp}
    COMMAND ${CMAKE_COMMAND} -DNPM=${TAGSCAPE_NPM} -DWEB=${CMAKE_SOURCE_DIR}/web -DOUT=${CMAKE_BINARY_DIR}/web
            -P ${CMAKE_SOURCE_DIR}/server/build_web.cmake
    COMMAND ${CMAKE_COMMAND} -E touch ${tagscape_web_stamp}
    DEPENDS ${tagscape_web_inputs} ${tagscape_web_configs} ${CMAKE_SOURCE_DIR}/server/build_web.cmake
    COMMENT "Building the web app (web/ -> ${CMAKE_BINARY_DIR}/web)"
    USES_TERMINAL)
  add_custom_target(tagscape_web ALL DEPENDS ${tagscape_web_stamp})
elseif(TAGSCAPE_BUILD_WEB)
  message(STATUS "tagscape: web app not built (needs web/package.json and npm); serve shows how to build it")
endif()
