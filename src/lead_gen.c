/*-------------------------------------------------------------------------
 *
 * lead_gen.c
 *	  Module entry point of the lead_gen extension.
 *
 * Each concept lives in its own file under src/; this one only carries the
 * module magic block that PostgreSQL checks when it loads the library.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

PG_MODULE_MAGIC;
