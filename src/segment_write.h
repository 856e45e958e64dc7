/*-------------------------------------------------------------------------
 *
 * segment_write.h
 *	  lead_gen's own membership changes, written as rows directly, with
 *	  their history and notification (see segment_write.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef LEAD_GEN_SEGMENT_WRITE_H
#define LEAD_GEN_SEGMENT_WRITE_H

#include "postgres.h"

typedef struct SegmentWriter SegmentWriter;

/* Changes with this cause (activity, rescore, edit, segment or merge). */
extern SegmentWriter *segment_writer_begin(const char *cause);
extern void segment_writer_join(SegmentWriter *w, int64 segment_id, int64 lead_id);
extern void segment_writer_leave(SegmentWriter *w, int64 segment_id, int64 lead_id);
/* Closes the writer; returns the changes written. */
extern int64 segment_writer_end(SegmentWriter *w);

/* NOTIFY lead_gen_segment with one change (if lead_gen.notify is on). */
extern void segment_notify(int64 segment_id, int64 lead_id, const char *event,
						   const char *cause);

#endif							/* LEAD_GEN_SEGMENT_WRITE_H */
