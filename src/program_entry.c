/*-------------------------------------------------------------------------
 *
 * program_entry.c
 *	  Segment joins that start or end a program enrolment.
 *
 * A program enters from a segment and exits by its goal segment.  Joins
 * of live segments are written by segment_write.c without a statement, so
 * no trigger sees them; the writers ask here whether a program watches the
 * segment (a per-session list, reloaded when lead_gen.program changes) and
 * hand each such join to lead_gen.program_segment_joined(), in the same
 * transaction.  That function is SECURITY DEFINER and nobody may EXECUTE
 * it: it is called through fmgr, which checks no privilege, because the
 * writer whose change moved the lead may not write enrolments.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "utils/memutils.h"

#include "config.h"
#include "program_entry.h"

static struct
{
	uint64		generation;
	int			n;
	int64	   *ids;			/* watched segments, ascending */
	Oid			joined_fn;		/* lead_gen.program_segment_joined(bigint, bigint) */
}			watched;

static void
watched_load(void)
{
	Oid			argtypes[2] = {INT8OID, INT8OID};
	int64	   *ids;

	if (watched.generation == config_generation())
		return;
	config_watch(lead_gen_relid("program"));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	config_query("SELECT DISTINCT s.id FROM lead_gen.program AS p, "
				 "LATERAL (VALUES (p.entry_segment_id), (p.goal_segment_id)) AS s(id) "
				 "WHERE s.id IS NOT NULL ORDER BY s.id");
	ids = MemoryContextAlloc(TopMemoryContext, Max(SPI_processed, 1) * sizeof(int64));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		ids[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
	if (watched.ids)
		pfree(watched.ids);
	watched.ids = ids;
	watched.n = (int) SPI_processed;
	SPI_finish();
	watched.joined_fn = LookupFuncName(list_make2(makeString("lead_gen"),
												  makeString("program_segment_joined")),
									   2, argtypes, false);
	watched.generation = config_generation();
}

bool
program_segment_watched(int64 segment_id)
{
	watched_load();
	for (int lo = 0, hi = watched.n; lo < hi;)
	{
		int			mid = lo + (hi - lo) / 2;

		if (watched.ids[mid] == segment_id)
			return true;
		if (watched.ids[mid] < segment_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

void
program_segment_joined(int64 segment_id, int64 lead_id)
{
	watched_load();
	OidFunctionCall2(watched.joined_fn, Int64GetDatum(segment_id), Int64GetDatum(lead_id));
}
