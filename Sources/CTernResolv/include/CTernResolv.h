// C shim for the resolver library (libresolv): MX lookups with res_query(3) and the ns_* parser. Only TernQueue
// imports this module (`internal import`), so no resolver type leaks into a public API.
#ifndef C_TERN_RESOLV_H
#define C_TERN_RESOLV_H

#include <stddef.h>

/// One MX record: its preference and target host (without the trailing dot; "" for the RFC 7505 null MX ".").
typedef struct {
    unsigned short preference;
    char host[256];
} c_tern_mx_record;

/// Outcomes of `c_tern_mx_lookup` below zero.
#define C_TERN_MX_NXDOMAIN (-1)   // the domain does not exist
#define C_TERN_MX_NODATA (-2)     // the domain exists but has no MX records
#define C_TERN_MX_TRYAGAIN (-3)   // temporary failure (SERVFAIL, timeout, no server)
#define C_TERN_MX_MALFORMED (-4)  // an answer that does not parse

/// Looks up the MX records of `domain` (thread-safe: glibc keeps the resolver state per thread). Returns the number
/// of records written (at most `capacity`, order as received), or one of the negative outcomes above.
int c_tern_mx_lookup(const char *domain, c_tern_mx_record *records, int capacity);

#endif
