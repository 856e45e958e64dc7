/*-------------------------------------------------------------------------
 *
 * icp_alloc.h
 *	  The allocator the ICP library (icp_format.c) asks its host for:
 *	  palloc in the server (icp_alloc.c), malloc in the fuzz harness.
 *	  icp_alloc returns zeroed memory; none of them returns NULL.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LEAD_GEN_ICP_ALLOC_H
#define LEAD_GEN_ICP_ALLOC_H

#include <stddef.h>

extern void *icp_alloc(size_t size);
extern void *icp_realloc(void *ptr, size_t size);
extern void icp_free(void *ptr);

#endif							/* LEAD_GEN_ICP_ALLOC_H */
