# Turn a Lua file into a C header holding it as a string: cmake -DIN= -DOUT= -DNAME= -P
file(READ "${IN}" body HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${body}")
file(WRITE "${OUT}" "static const char ${NAME}[] = {${body} 0};\n")
