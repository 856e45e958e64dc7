/*-------------------------------------------------------------------------
 *
 * restore.c
 *	  Whether this session replays a dump (see restore.h), for C and SQL.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/rls.h"

#include "config.h"
#include "restore.h"

bool
restore_in_progress(void)
{
	/* applications run with row_security on: that case costs nothing */
	if (row_security)
		return false;
	return superuser() || pg_class_ownercheck(lead_gen_relid("lead"), GetUserId());
}

PG_FUNCTION_INFO_V1(lead_gen_restoring);

/* restoring() -> boolean, for the SQL parts of lead_gen */
Datum
lead_gen_restoring(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(restore_in_progress());
}
