/*-------------------------------------------------------------------------
 *
 * icp_alloc.c
 *	  The host allocator of the PostgreSQL-free ICP library (icp_format.c)
 *	  in the server: palloc in the current memory context.  The fuzz
 *	  harness links icp_format.c with a malloc-based one instead.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "icp_alloc.h"

void *
icp_alloc(size_t size)
{
	return palloc0(size);
}

void *
icp_realloc(void *ptr, size_t size)
{
	return repalloc(ptr, size);
}

void
icp_free(void *ptr)
{
	pfree(ptr);
}
