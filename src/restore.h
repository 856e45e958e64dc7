/*-------------------------------------------------------------------------
 *
 * restore.h
 *	  Is this session replaying a dump?
 *
 * pg_dump's output (plain, or through pg_restore) runs with row_security
 * off, which applications do not.  A restore replays rows through the
 * triggers: derived values are rebuilt from what is restored, but nothing
 * may happen that the dumped database had not already recorded (automatic
 * stage moves under today's clock, notifications, new history rows).
 *
 *-------------------------------------------------------------------------
 */
#ifndef LEAD_GEN_RESTORE_H
#define LEAD_GEN_RESTORE_H

extern bool restore_in_progress(void);

#endif							/* LEAD_GEN_RESTORE_H */
