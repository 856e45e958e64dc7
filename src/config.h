/*-------------------------------------------------------------------------
 *
 * config.h
 *	  Per-session caches of lead_gen's configuration tables.
 *
 * A cache keeps the generation it was loaded at and reloads when
 * config_generation() has moved on.  The generation moves when a relcache
 * invalidation arrives for one of lead_gen's tables: the statement triggers
 * on the configuration tables send one at commit (config_changed), so every
 * session drops its copies when the change becomes visible.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LEAD_GEN_CONFIG_H
#define LEAD_GEN_CONFIG_H

#include "postgres.h"

#include "executor/spi.h"

extern uint64 config_generation(void);
extern void config_changed(Oid relid);
extern void config_watch(Oid relid);
extern Oid	lead_gen_relid(const char *relname);

/* Run a read-only query with the latest snapshot (SPI must be connected). */
extern void config_query(const char *sql);

#endif							/* LEAD_GEN_CONFIG_H */
