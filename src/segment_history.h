/*-------------------------------------------------------------------------
 *
 * segment_history.h
 *	  lead_gen's own writes of segment_member, and their cause in the
 *	  history (see segment_history.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef LEAD_GEN_SEGMENT_HISTORY_H
#define LEAD_GEN_SEGMENT_HISTORY_H

/*
 * Between these, changes of segment_member are lead_gen's, recorded with
 * this cause: activity, rescore, edit, segment or merge.
 */
extern void segment_writing_begin(const char *cause);
extern void segment_writing_end(void);

#endif							/* LEAD_GEN_SEGMENT_HISTORY_H */
