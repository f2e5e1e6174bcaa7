// toml++'s implementation, compiled once into streamtrack_common (see CMakeLists.txt: the
// daemons do not link libtomlplusplus.so). Every other file includes <toml++/toml.h> with
// TOML_HEADER_ONLY=0 and sees declarations only.
#define TOML_IMPLEMENTATION
#include <toml++/toml.h>
