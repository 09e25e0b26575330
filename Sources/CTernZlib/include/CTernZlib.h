// C shim for the system zlib (Debian zlib1g-dev). TernCompression (deflate) and TernStore (crc32 of the delivery
// journal) import this module.
#ifndef C_TERN_ZLIB_H
#define C_TERN_ZLIB_H
#include <zlib.h>

/// deflateInit2/inflateInit2 are macros that pass the library version and struct size.
static inline int c_tern_deflateInit2(z_streamp stream, int level, int windowBits, int memLevel) {
    return deflateInit2(stream, level, Z_DEFLATED, windowBits, memLevel, Z_DEFAULT_STRATEGY);
}
static inline int c_tern_inflateInit2(z_streamp stream, int windowBits) { return inflateInit2(stream, windowBits); }
#endif
