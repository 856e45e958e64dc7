/*-------------------------------------------------------------------------
 *
 * program_entry.h
 *	  Segment joins that start or end a program enrolment (see
 *	  program_entry.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef LEAD_GEN_PROGRAM_ENTRY_H
#define LEAD_GEN_PROGRAM_ENTRY_H

#include "postgres.h"

/* Whether a program enters from or exits by this segment. */
extern bool program_segment_watched(int64 segment_id);

/* A lead joined such a segment (its member row visible to this command). */
extern void program_segment_joined(int64 segment_id, int64 lead_id);

#endif							/* LEAD_GEN_PROGRAM_ENTRY_H */
