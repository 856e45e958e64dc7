/*-------------------------------------------------------------------------
 *
 * segment.h
 *	  Live segments kept by the lead and activity triggers (segment.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef LEAD_GEN_SEGMENT_H
#define LEAD_GEN_SEGMENT_H

#include "postgres.h"

#include "access/htup.h"
#include "access/tupdesc.h"
#include "commands/trigger.h"
#include "utils/timestamp.h"

/* Whether any live segment is to be kept (none during a restore). */
extern bool segments_live(void);

/* Whether new activity of this kind can change a live segment's answer. */
extern bool segments_watch_kind(const char *kind);

/*
 * The lead trigger's row as it will be written: on UPDATE the lead joins and
 * leaves live segments to match it; returns the earliest time at which time
 * alone would change one of its memberships (DT_NOEND: never).
 */
extern TimestampTz segments_before_row(TriggerData *trigdata, HeapTuple tuple, TupleDesc desc,
									   TimestampTz now);

#endif							/* LEAD_GEN_SEGMENT_H */
