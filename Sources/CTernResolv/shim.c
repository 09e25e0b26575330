#include "CTernResolv.h"

#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <string.h>

int c_tern_mx_lookup(const char *domain, c_tern_mx_record *records, int capacity) {
    unsigned char answer[NS_MAXMSG > 65536 ? 65536 : NS_MAXMSG];
    int length = res_query(domain, ns_c_in, ns_t_mx, answer, sizeof answer);
    if (length < 0) {
        switch (h_errno) {
        case HOST_NOT_FOUND: return C_TERN_MX_NXDOMAIN;
        case NO_DATA: return C_TERN_MX_NODATA;
        default: return C_TERN_MX_TRYAGAIN;
        }
    }
    ns_msg message;
    if (ns_initparse(answer, length, &message) < 0) return C_TERN_MX_MALFORMED;
    int count = ns_msg_count(message, ns_s_an);
    int written = 0;
    for (int index = 0; index < count && written < capacity; index++) {
        ns_rr record;
        if (ns_parserr(&message, ns_s_an, index, &record) < 0) return C_TERN_MX_MALFORMED;
        if (ns_rr_type(record) != ns_t_mx || ns_rr_rdlen(record) < 3) continue;
        const unsigned char *data = ns_rr_rdata(record);
        c_tern_mx_record *out = &records[written];
        out->preference = (unsigned short)((data[0] << 8) | data[1]);
        if (dn_expand(ns_msg_base(message), ns_msg_end(message), data + 2, out->host, sizeof out->host) < 0) {
            return C_TERN_MX_MALFORMED;
        }
        size_t hostLength = strlen(out->host);
        if (hostLength > 0 && out->host[hostLength - 1] == '.') out->host[hostLength - 1] = 0;
        written++;
    }
    return written == 0 ? C_TERN_MX_NODATA : written;
}
