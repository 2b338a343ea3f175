/*
 * listing.h — the gofer's directory listing with attributes (listing.c).
 *
 * The part between the RP_CDEF_BEGIN/RP_CDEF_END markers is read by cffi's
 * cdef (runsc_py/_build_interpose.py).
 */
#ifndef RP_LISTING_H
#define RP_LISTING_H

#include <stdint.h>

/* RP_CDEF_BEGIN */
int64_t rp_list_entries(int dirfd, uint32_t offset, uint32_t max_entries, char *out,
                        uint64_t cap, int *more);
/* RP_CDEF_END */

#endif
