/*-------------------------------------------------------------------------
 *
 * restore.h
 *	  Is this session replaying a dump?
 *
 * pg_dump's output (plain, or through pg_restore) runs with row_security
 * off, and it is replayed by a role that may create lead_gen's tables: a
 * superuser, or the owner of lead_gen.lead.  Any role may turn
 * row_security off, so that alone says nothing; together with the role it
 * is what a writer cannot fake.
 *
 * A restore replays rows through the triggers: derived values are rebuilt
 * from what is restored, but nothing may happen that the dumped database
 * had not already recorded (automatic stage moves under today's clock,
 * notifications, new history rows), and what it restores of the history
 * and bookkeeping is kept as it was dumped.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LEAD_GEN_RESTORE_H
#define LEAD_GEN_RESTORE_H

extern bool restore_in_progress(void);

#endif							/* LEAD_GEN_RESTORE_H */
