/*-------------------------------------------------------------------------
 *
 * lead_gen.h
 *	  The module's settings (GUCs), defined in lead_gen.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LEAD_GEN_H
#define LEAD_GEN_H

extern char *lead_gen_stage_reason;
extern bool lead_gen_stage_force;
extern int	lead_gen_stage_cause;
extern bool lead_gen_notify;
extern bool lead_gen_automatic_stage_moves;

typedef enum StageCauseSetting
{
	STAGE_CAUSE_MANUAL,
	STAGE_CAUSE_IMPORT,
	STAGE_CAUSE_RESCORE,
	STAGE_CAUSE_MERGE
} StageCauseSetting;

#endif							/* LEAD_GEN_H */
