# Warnings and sanitizers as interface targets that each of our targets links PRIVATE,
# so that nothing is set directory-wide.
add_library(querylens_options INTERFACE)
target_compile_options(querylens_options INTERFACE -Wall -Wextra -Wshadow=local -Wnon-virtual-dtor)
if(QUERYLENS_SANITIZE)
  target_compile_options(querylens_options INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer)
  target_link_options(querylens_options INTERFACE -fsanitize=address,undefined)
endif()
