# lead_gen: leads, scoring, stages and funnels inside PostgreSQL (PGXS build)

EXTENSION = lead_gen
MODULE_big = lead_gen
OBJS = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))

DATA = $(wildcard sql/lead_gen--*.sql)

# pg_regress: scripts in sql/, expected output in expected/ (one per feature)
REGRESS = schema bad_input icp profile engagement scoring scoring_property stages funnel funnel_reports forget search_path privileges fuzz_types
REGRESS_OPTS = --inputdir=. --load-extension=lead_gen

# isolation specs: test/isolation/specs/*.spec, expected in test/isolation/expected
ISOLATION = lead_email_unique profile_cache activity_concurrent capped_concurrent bulk_load_order rescore_concurrent stage_transition_race stage_event_vs_disqualify stage_notify
ISOLATION_OPTS = --inputdir=test/isolation --load-extension=lead_gen

# TAP tests: test/t/*.pl (whole-server behaviour: dump/restore, pg_cron)
TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl

PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers

EXTRA_CLEAN = results regression.diffs regression.out output_iso tmp_check tmp_check_iso log test/fuzz/build

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
