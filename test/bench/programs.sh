#!/usr/bin/env bash
# Program and outbox comparisons; run by test/bench/run inside its
# throwaway cluster, after leads.sql.
#   programs.sh LEADS PGBENCH_SECONDS
#
# 1. advance_programs() over 100,000 enrolments of which 1% are due, against
#    the plain SQL a user keeps a drip in (who is due is read off the log of
#    what was sent, as campaign tools do), and against the floor of the work
#    (the same messages and enrolment moves written set-wise, the due rows
#    found by an index on a stored next time).
# 2. claim and ack with two workers (pgbench), messages per second, against
#    a bare DELETE ... RETURNING queue of the same messages on the same
#    machine.
set -euo pipefail
cd "$(dirname "$0")"
leads=$1 secs=$2
q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
line() { q -At -c "$1"; }
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
# seconds a script of statements takes, run in one session
timed() {
	q -At <<-SQL | tail -n 1
	SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
	$1
	SELECT extract(epoch FROM clock_timestamp()) - :t0;
	SQL
}
n=100000
[ "$leads" -lt "$n" ] && n=$leads

q <<-SQL
	SELECT lead_gen.define_content('b_hello'), lead_gen.define_content('b_later');
	SELECT lead_gen.create_program('b_drip', '[{"send": "b_hello"}, {"wait": "1 day"}, {"send": "b_later"}]');
	SELECT count(lead_gen.enroll(lead_id, 'b_drip')) FROM lead_gen.lead WHERE lead_id <= $n;
	CALL lead_gen.advance_programs(10000);
	-- the user's drip: who entered, and what was sent when
	CREATE TABLE bench.u_enrol (lead_id bigint PRIMARY KEY, entered_at timestamptz NOT NULL);
	CREATE TABLE bench.u_sent (lead_id bigint NOT NULL, step int NOT NULL, sent_at timestamptz NOT NULL,
							   fields jsonb NOT NULL, PRIMARY KEY (lead_id, step));
	INSERT INTO bench.u_enrol SELECT lead_id, entered_at FROM lead_gen.enrollment;
	INSERT INTO bench.u_sent SELECT lead_id, step, created_at, fields FROM lead_gen.outbox;
	-- the floor: the same state with a stored, indexed next time
	CREATE TABLE bench.f_enrol (lead_id bigint PRIMARY KEY, step int, next_at timestamptz);
	CREATE INDEX ON bench.f_enrol (next_at) WHERE next_at IS NOT NULL;
	CREATE TABLE bench.f_sent (LIKE bench.u_sent INCLUDING ALL);
	INSERT INTO bench.f_enrol SELECT lead_id, step, next_at FROM lead_gen.enrollment;
	INSERT INTO bench.f_sent SELECT * FROM bench.u_sent;
	VACUUM ANALYZE lead_gen.enrollment, lead_gen.outbox, bench.u_enrol, bench.u_sent, bench.f_enrol, bench.f_sent;
SQL
# make 1% due again (and undo what the last run did)
due() {
	q <<-SQL
	DELETE FROM lead_gen.outbox WHERE step = 3;
	UPDATE lead_gen.enrollment SET status = 'active', ended_at = NULL, step = 3,
		next_at = now() - interval '1 second' WHERE lead_id % 100 = 0;
	DELETE FROM bench.u_sent WHERE step = 3;
	UPDATE bench.u_sent SET sent_at = now() - CASE WHEN lead_id % 100 = 0 THEN interval '25 hours' ELSE interval '1 hour' END;
	DELETE FROM bench.f_sent WHERE step = 3;
	UPDATE bench.f_enrol SET step = 3, next_at = now() - CASE WHEN lead_id % 100 = 0 THEN interval '1 second' ELSE interval '-23 hours' END;
	VACUUM ANALYZE lead_gen.enrollment, lead_gen.outbox, bench.u_sent, bench.f_enrol, bench.f_sent;
	SQL
}
ours=() plain=() loop=() floor=()
for i in 1 2 3 4 5; do
	due
	ours+=("$(timed 'CALL lead_gen.advance_programs();')")
	# a cron procedure that visits every enrolment and asks whether its next
	# step is due (what a scheduler without a next time per lead does)
	loop+=("$(timed "
		DO \$\$
		DECLARE
			e record;
			last_step int;
			last_at timestamptz;
		BEGIN
			FOR e IN SELECT * FROM bench.u_enrol LOOP
				SELECT s.step, s.sent_at INTO last_step, last_at FROM bench.u_sent s
				WHERE s.lead_id = e.lead_id ORDER BY s.step DESC LIMIT 1;
				IF last_step = 1 AND last_at <= now() - interval '1 day' THEN
					INSERT INTO bench.u_sent (lead_id, step, sent_at, fields)
					SELECT l.lead_id, 3, now(), jsonb_strip_nulls(jsonb_build_object('lead_id', l.lead_id, 'email', l.email,
						'first_name', l.first_name, 'last_name', l.last_name, 'company_name', l.company_name,
						'job_title', l.job_title, 'attributes', l.attributes))
					FROM lead_gen.lead l WHERE l.lead_id = e.lead_id;
				END IF;
			END LOOP;
		END
		\$\$;
		DELETE FROM bench.u_sent WHERE step = 3;")")
	plain+=("$(timed "
		INSERT INTO bench.u_sent (lead_id, step, sent_at, fields)
		SELECT e.lead_id, 3, now(), jsonb_strip_nulls(jsonb_build_object('lead_id', l.lead_id, 'email', l.email,
			'first_name', l.first_name, 'last_name', l.last_name, 'company_name', l.company_name,
			'job_title', l.job_title, 'attributes', l.attributes))
		FROM bench.u_enrol e JOIN lead_gen.lead l USING (lead_id)
		WHERE EXISTS (SELECT FROM bench.u_sent s WHERE s.lead_id = e.lead_id AND s.step = 1
					  AND s.sent_at <= now() - interval '1 day')
		  AND NOT EXISTS (SELECT FROM bench.u_sent s WHERE s.lead_id = e.lead_id AND s.step = 3);")")
	floor+=("$(timed "
		WITH d AS (UPDATE bench.f_enrol e SET step = NULL, next_at = NULL
				   WHERE e.next_at <= now() RETURNING e.lead_id)
		INSERT INTO bench.f_sent (lead_id, step, sent_at, fields)
		SELECT l.lead_id, 3, now(), jsonb_strip_nulls(jsonb_build_object('lead_id', l.lead_id, 'email', l.email,
			'first_name', l.first_name, 'last_name', l.last_name, 'company_name', l.company_name,
			'job_title', l.job_title, 'attributes', l.attributes))
		FROM d JOIN lead_gen.lead l USING (lead_id);")")
done
check=$(line "SELECT (SELECT count(*) FROM lead_gen.outbox WHERE step = 3) || ' ' || (SELECT count(*) FROM bench.u_sent WHERE step = 3) || ' ' || (SELECT count(*) FROM bench.f_sent WHERE step = 3)")
[ "$check" = "$((n / 100)) $((n / 100)) $((n / 100))" ] || { echo "advance: the three wrote different messages: $check" >&2; exit 1; }
awk -v a="$(median "${ours[@]}")" -v b="$(median "${plain[@]}")" -v c="$(median "${loop[@]}")" -v f="$(median "${floor[@]}")" -v n="$n" \
	'BEGIN { printf "advance_programs (%d enrolments, 1%% due): lead_gen %.4fs, plain procedure visiting every enrolment %.4fs, ratio %.2fx\n", n, a, c, c / a;
			 printf "advance_programs (%d enrolments, 1%% due): lead_gen %.4fs, plain set-wise INSERT ... SELECT of who is due, read off the sent log %.4fs, ratio %.2fx\n", n, a, b, b / a;
			 printf "advance_programs floor (the same writes set-wise, due rows by an index on a stored next time): %.4fs, lead_gen at %.2fx of it\n", f, f / a }'

# 2. claim and ack: 10 messages per claim, each acked, two workers
m=$(( secs * 80000 ))	# more than either side moves in the time
q <<-SQL
	DELETE FROM lead_gen.outbox;
	UPDATE lead_gen.outbox_settings SET cap_messages = NULL;
	-- subscribed leads only: every claimed message is handed out
	INSERT INTO lead_gen.outbox (step, program_id, lead_id, channel, content_key, policy, fields, due_at, visible_at)
	SELECT 1, lead_gen.program_id('b_drip'), l.lead_id, 'email', 'b_hello', 'marketing',
		   jsonb_build_object('lead_id', l.lead_id, 'email', l.email, 'first_name', l.first_name), now(), now()
	FROM generate_series(1, $m) AS g
	JOIN lead_gen.lead AS l ON l.lead_id = 1 + g % $leads
	WHERE l.consent IS DISTINCT FROM 'unsubscribed' AND NOT EXISTS (SELECT FROM lead_gen.suppression s WHERE s.lead_id = l.lead_id);
	CREATE TABLE bench.queue (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, lead_id bigint, content_key text,
							  fields jsonb, visible_at timestamptz NOT NULL);
	INSERT INTO bench.queue (lead_id, content_key, fields, visible_at)
	SELECT lead_id, content_key, fields, visible_at FROM lead_gen.outbox ORDER BY message_id;
	VACUUM ANALYZE lead_gen.outbox, bench.queue;
SQL
cat >/tmp/lead_gen_claim.pgbench <<-'PGB'
	SELECT quote_literal(array_agg(message_id)::text) AS ids FROM lead_gen.claim_messages('w' || :client_id, 10, '5 minutes') \gset
	SELECT count(lead_gen.ack_message(id, 'ref', 'w' || :client_id)) FROM unnest(:ids::bigint[]) AS id;
PGB
cat >/tmp/lead_gen_queue.pgbench <<-'PGB'
	DELETE FROM bench.queue WHERE id IN (SELECT id FROM bench.queue WHERE visible_at <= now() ORDER BY id LIMIT 10 FOR UPDATE SKIP LOCKED) RETURNING *;
PGB
rate() {	# messages per second a pgbench run moved, by the count of $2
	local before after
	before=$(line "$2")
	pgbench -n -c 2 -j 2 -T "$secs" -f "$1" >/dev/null 2>&1
	after=$(line "$2")
	awk -v a="$before" -v b="$after" -v s="$secs" 'BEGIN { printf "%.0f", (b - a) / s }'
}
ours=$(rate /tmp/lead_gen_claim.pgbench "SELECT count(*) FROM lead_gen.outbox WHERE status = 'sent'")
bare=$(rate /tmp/lead_gen_queue.pgbench "SELECT $m - count(*) FROM bench.queue")
left=$(line "SELECT (SELECT count(*) FROM lead_gen.outbox WHERE status = 'pending') || ' ' || (SELECT count(*) FROM bench.queue)")
case "$left" in 0\ *|*\ 0) echo "claim/ack: a queue ran dry ($left left); its rate is a lower bound" >&2 ;; esac
awk -v a="$ours" -v b="$bare" \
	'BEGIN { printf "claim and ack (2 workers, 10 per claim): lead_gen %d messages/s, bare DELETE ... RETURNING queue %d messages/s, lead_gen at %.2fx of it\n", a, b, a / b }'
