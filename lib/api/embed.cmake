# Turns a file into a C array (NUL-terminated) named NAME in OUT.
file(READ ${IN} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE ${OUT} "/* Generated from ${IN_NAME}; do not edit. */\nconst char ${NAME}[] = {${bytes}0x00};\n")
