// C shim for libcrypt (Debian libcrypt-dev): crypt(3) password hashing (yescrypt, SHA-crypt, bcrypt).
// Only TernAuth imports this module.
#ifndef C_TERN_CRYPT_H
#define C_TERN_CRYPT_H
#include <crypt.h>
#endif
