# server/build_web.cmake — cmake -P script run by server/web.cmake:
#   cmake -DNPM=npm -DWEB=<source>/web -DOUT=<build>/web -P build_web.cmake
# Installs dependencies if missing (npm ci), then `vite build --outDir OUT`. Never fails
# the build: a problem is printed and the previous OUT (or the fallback page) stays.
if(NOT EXISTS ${WEB}/node_modules)
  if(EXISTS ${WEB}/package-lock.json)
    set(install_command ci)
  else()
    set(install_command install)
  endif()
  execute_process(COMMAND ${NPM} ${install_command} --no-audit --no-fund WORKING_DIRECTORY ${WEB} RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(WARNING "tagscape: `npm ${install_command}` in ${WEB} failed (${status}); the web app is not rebuilt")
    return()
  endif()
endif()
execute_process(COMMAND ${NPM} exec --no -- vite build --outDir ${OUT}.new --emptyOutDir --logLevel warn
                WORKING_DIRECTORY ${WEB} RESULT_VARIABLE status)
if(NOT status EQUAL 0 OR NOT EXISTS ${OUT}.new/index.html)
  message(WARNING "tagscape: `vite build` in ${WEB} failed (${status}); the web app is not rebuilt")
  file(REMOVE_RECURSE ${OUT}.new)
  return()
endif()
# Swap in the new build whole, so a running server never sees half of one.
file(REMOVE_RECURSE ${OUT})
file(RENAME ${OUT}.new ${OUT})
