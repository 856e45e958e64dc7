# lead_gen: leads, scoring, stages and funnels inside PostgreSQL (PGXS build)

EXTENSION = lead_gen
EXTVERSION = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" lead_gen.control)
MODULE_big = lead_gen
OBJS = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))

# The current definition of every SQL object, one file per concept, in the
# order the install script runs them.  The install script of the current
# version is built from them; released scripts (sql/versions/) are frozen.
INSTALL_SQL = $(addprefix sql/install/,types.sql lead.sql icp.sql scoring.sql stages.sql \
	conditions.sql funnels.sql reports.sql identity.sql merge.sql duplicates.sql segments.sql programs.sql models.sql erasure.sql privileges.sql dump.sql)
DATA_built = lead_gen--$(EXTVERSION).sql
DATA = $(wildcard sql/versions/lead_gen--*.sql) $(wildcard lead_gen--*.control)

# pg_regress: scripts in sql/, expected output in expected/ (one per feature)
REGRESS = schema bad_input icp profile engagement scoring scoring_property stages funnel funnel_reports forget identity merge duplicates condition segments segments_property programs models search_path privileges trust fuzz_types
REGRESS_OPTS = --inputdir=. --load-extension=pg_trgm --load-extension=lead_gen

# isolation specs: test/isolation/specs/*.spec, expected in test/isolation/expected
ISOLATION = lead_email_unique profile_cache activity_concurrent capped_concurrent bulk_load_order rescore_concurrent stage_transition_race stage_event_vs_disqualify stage_notify identity_concurrent merge_concurrent segment_concurrent program_concurrent model_concurrent
ISOLATION_OPTS = --inputdir=test/isolation --load-extension=pg_trgm --load-extension=lead_gen

# TAP tests: test/t/*.pl (whole-server behaviour: dump/restore, pg_cron)
TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl

PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers

EXTRA_CLEAN = results regression.diffs regression.out output_iso tmp_check tmp_check_iso log test/fuzz/build

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(DATA_built): $(INSTALL_SQL) lead_gen.control
	{ printf '/*\n * lead_gen %s, built by make from sql/install/: edit those files, not this one.\n */\n\n' '$(EXTVERSION)'; \
	  printf '%s\n' '\echo Use "CREATE EXTENSION lead_gen" to load this file. \quit'; \
	  for f in $(INSTALL_SQL); do echo; cat "$$f"; done; } >$@
