/*-------------------------------------------------------------------------
 *
 * lead_gen.c
 *	  Module entry point of the lead_gen extension: the magic block and the
 *	  settings.
 *
 * Each concept lives in its own file under src/.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "lead_gen.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

char	   *lead_gen_stage_reason = NULL;
bool		lead_gen_stage_force = false;
int			lead_gen_stage_cause = STAGE_CAUSE_MANUAL;
bool		lead_gen_notify = true;
bool		lead_gen_automatic_stage_moves = true;

static const struct config_enum_entry stage_cause_options[] = {
	{"manual", STAGE_CAUSE_MANUAL, false},
	{"import", STAGE_CAUSE_IMPORT, false},
	{"rescore", STAGE_CAUSE_RESCORE, false},
	{"merge", STAGE_CAUSE_MERGE, false},
	{NULL, 0, false}
};

void
_PG_init(void)
{
	DefineCustomStringVariable("lead_gen.stage_reason",
							   "Reason recorded for stage changes made by UPDATE.",
							   "lead_gen.transition() and friends set it; set it with SET LOCAL before a plain UPDATE of lead.stage that needs a reason.",
							   &lead_gen_stage_reason, "",
							   PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("lead_gen.stage_force",
							 "Stage changes bypass the stage machine (only for roles that may UPDATE lead_gen.stage_transition).",
							 NULL, &lead_gen_stage_force, false,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomEnumVariable("lead_gen.stage_cause",
							 "Cause recorded for stage changes: manual, import, rescore (set by lead_gen.rescore()) or merge (set by lead_gen.merge_leads()).",
							 NULL, &lead_gen_stage_cause, STAGE_CAUSE_MANUAL, stage_cause_options,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("lead_gen.notify",
							 "Stage and temperature changes and SLA breaches send NOTIFY lead_gen_events.",
							 NULL, &lead_gen_notify, true,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("lead_gen.automatic_stage_moves",
							 "Thresholds, high-intent events and BANT move leads forward.",
							 "Turning it off (superusers only) suspends automatic moves, for example during an import.",
							 &lead_gen_automatic_stage_moves, true,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	MarkGUCPrefixReserved("lead_gen");
}
