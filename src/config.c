/*-------------------------------------------------------------------------
 *
 * config.c
 *	  Invalidation of the per-session configuration caches (see config.h).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "config.h"
#include "trigger.h"

#define MAX_WATCHED 16

static uint64 generation = 1;
static bool registered = false;
static Oid	watched[MAX_WATCHED];
static int	nwatched = 0;

/* No catalog access here: invalidation callbacks may run outside a transaction. */
static void
relcache_changed(Datum arg, Oid relid)
{
	if (relid == InvalidOid)
	{
		generation++;			/* the whole relcache was reset */
		return;
	}
	for (int i = 0; i < nwatched; i++)
		if (watched[i] == relid)
		{
			generation++;
			return;
		}
}

/* Reload the caches when this table changes (a cache loader calls this). */
void
config_watch(Oid relid)
{
	for (int i = 0; i < nwatched; i++)
		if (watched[i] == relid)
			return;
	if (nwatched < MAX_WATCHED)
		watched[nwatched++] = relid;
	else
		generation++;			/* cannot happen with lead_gen's few tables */
}

uint64
config_generation(void)
{
	if (!registered)
	{
		CacheRegisterRelcacheCallback(relcache_changed, (Datum) 0);
		registered = true;
	}
	return generation;
}

/* A configuration table changed: everyone reloads at commit, we at once. */
void
config_changed(Oid relid)
{
	CacheInvalidateRelcacheByRelid(relid);
	generation++;
}

Oid
lead_gen_relid(const char *relname)
{
	Oid			relid = get_relname_relid(relname, get_namespace_oid("lead_gen", false));

	if (!OidIsValid(relid))
		elog(ERROR, "relation lead_gen.%s does not exist", relname);
	return relid;
}

void
config_query(const char *sql)
{
	SPIPlanPtr	plan = SPI_prepare(sql, 0, NULL);
	int			rc;

	if (plan == NULL)
		elog(ERROR, "could not prepare \"%s\": %s", sql, SPI_result_code_string(SPI_result));
	/* the latest committed configuration, whatever this transaction's snapshot */
	rc = SPI_execute_snapshot(plan, NULL, NULL, GetLatestSnapshot(), InvalidSnapshot,
							  true, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read configuration: %s", SPI_result_code_string(rc));
	SPI_freeplan(plan);
}

PG_FUNCTION_INFO_V1(lead_gen_config_changed);

/*
 * AFTER ... FOR EACH STATEMENT on the configuration tables: every session
 * reloads its copy at commit.
 */
Datum
lead_gen_config_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = trigger_guard(fcinfo, "config_changed", GUARD_AFTER,
										  GUARD_INSERT | GUARD_UPDATE | GUARD_DELETE,
										  GUARD_STATEMENT, GUARD_LEAD_GEN_TABLE);

	config_changed(RelationGetRelid(trigdata->tg_relation));
	return PointerGetDatum(NULL);
}
