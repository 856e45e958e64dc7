-- Nurture programs: definitions and their errors, enrolment by segment and
-- by hand, advancing step by step, the outbox (claim, ack, fail, leases,
-- dead letters, consent and suppression at claim, the frequency cap), the
-- exit goal, holdout and lift, re-entry, merges, forget, who may do what.
SET search_path = lead_gen, public;
SET timezone = 'UTC';
\set VERBOSITY terse

CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE sql;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- each lead's way through a program, compactly
CREATE FUNCTION pg_temp.ways(prog text) RETURNS SETOF text LANGUAGE sql AS $$
	SELECT e.lead_id || ' r' || e.round || ' ' || e.status || CASE WHEN e.holdout THEN ' holdout' ELSE '' END
		   || coalesce(' at step ' || e.step, '') || CASE WHEN e.next_at <= now() THEN ' due' WHEN e.next_at IS NOT NULL THEN ' waits' ELSE '' END
	FROM lead_gen.enrollment e WHERE e.program_id = lead_gen.program_id(prog)
	ORDER BY e.lead_id, e.round
$$;
CREATE FUNCTION pg_temp.messages(prog text) RETURNS SETOF text LANGUAGE sql AS $$
	SELECT o.lead_id || ' step ' || o.step || ' ' || o.content_key || ' ' || o.status
		   || coalesce(' (' || o.skip_reason || ')', '') || CASE WHEN o.attempts > 0 THEN ' x' || o.attempts ELSE '' END
	FROM lead_gen.outbox o WHERE o.program_id = lead_gen.program_id(prog)
	ORDER BY o.lead_id, o.step, o.message_id
$$;
-- time passes for a program: whatever waits is due now
CREATE FUNCTION pg_temp.time_passes(prog text) RETURNS void LANGUAGE sql AS $$
	UPDATE lead_gen.enrollment SET next_at = now() - interval '1 second'
	WHERE program_id = lead_gen.program_id(prog) AND next_at IS NOT NULL
$$;

-- 1. Content
SELECT define_content('pg_welcome', description => 'Welcome aboard'),
	   define_content('pg_tips'), define_content('pg_nudge'),
	   define_content('pg_receipt', 'email', 'transactional'),
	   define_content('pg_text', 'sms');
SELECT pg_temp.try($$SELECT lead_gen.define_content('pg_x', 'email', 'spam')$$) AS unknown_policy,
	   pg_temp.try($$SELECT lead_gen.define_content('Bad Key')$$) AS bad_key,
	   pg_temp.try($$SELECT lead_gen.define_content(NULL)$$) AS null_key;
SELECT content_key, channel, policy, description FROM content WHERE content_key LIKE 'pg_%' ORDER BY 1;

-- 2. Programs that cannot be
SELECT s AS steps, pg_temp.try(format('SELECT lead_gen.create_program(%L, %L)', 'pg_bad', s)) AS error
FROM (VALUES ('{}'), ('[]'), ('[1]'),
	('[{"send": "pg_welcome", "wait": "1 day"}]'), ('[{"sned": "pg_welcome"}]'),
	('[{"send": "pg_welcome", "colour": "red"}]'), ('[{"send": "nope"}]'), ('[{"send": null}]'),
	('[{"wait": "-1 day"}]'), ('[{"wait": "0"}]'), ('[{"wait": "soon"}]'), ('[{"wait": "11 years"}]'),
	('[{"wait_until": {"hour": 24}}]'), ('[{"wait_until": {"hour": 9.5}}]'), ('[{"wait_until": {"minute": 5}}]'),
	('[{"wait_until": {"weekday": "someday", "hour": 9}}]'), ('[{"wait_until": {"day": "mon", "hour": 9}}]'),
	('[{"branch": "stage = mql"}]'), ('[{"branch": "stage = mql", "then": 7}]'),
	('[{"branch": "stage = mql", "then": 1.5}]'), ('[{"branch": "stage = mql", "then": "nowhere"}]'),
	('[{"branch": "bogus > 1", "then": 1}]'), ('[{"branch": "stage = mql", "then": 1}]'),
	('[{"send": "pg_welcome", "label": "a"}, {"branch": "stage = mql", "then": "a"}]'),
	('[{"send": "pg_welcome", "label": "a"}, {"notify_sales": "x"}, {"branch": "stage = mql", "else": "a"}]'),
	('[{"stage": "nirvana"}]'), ('[{"notify_sales": ""}]'),
	('[{"send": "pg_welcome", "label": "a"}, {"send": "pg_tips", "label": "a"}]')) AS t(s);
SELECT pg_temp.try($$SELECT lead_gen.create_program('pg_bad', '[{"send": "pg_welcome"}]', holdout => 1)$$) AS holdout_1,
	   pg_temp.try($$SELECT lead_gen.create_program('pg_bad', '[{"send": "pg_welcome"}]', holdout => 'NaN')$$) AS holdout_nan,
	   pg_temp.try($$SELECT lead_gen.create_program('pg_bad', '[{"send": "pg_welcome"}]', reentry => '-1 day')$$) AS reentry,
	   pg_temp.try($$SELECT lead_gen.create_program('pg_bad', '[{"send": "pg_welcome"}]', time_zone => 'Mars/Olympus')$$) AS zone;
SELECT pg_temp.try($$SELECT lead_gen.create_program('pg_bad', '[{"send": "pg_welcome"}]', entry => 'no such segment')$$) AS entry,
	   pg_temp.try($$SELECT lead_gen.create_program('pg_bad', '[{"send": "pg_welcome"}]', goal => 'bogus = 1')$$) AS goal,
	   pg_temp.try($$SELECT lead_gen.create_program(NULL, '[{"send": "pg_welcome"}]')$$) AS no_name,
	   pg_temp.try($$SELECT lead_gen.create_program('', '[{"send": "pg_welcome"}]')$$) AS empty_name;
SELECT count(*) AS nothing_left FROM program WHERE name = 'pg_bad';
-- a way back through a wait is a loop, and fine
SELECT create_program('pg_loop', '[{"label": "top", "wait": "1 week"}, {"branch": "stage = mql", "else": "top"}]') > 0 AS loop_ok;
SELECT step, label, kind, wait, then_step, else_step FROM program_step WHERE program_id = program_id('pg_loop') ORDER BY step;
SELECT pg_temp.try($$SELECT lead_gen.create_program('pg_loop', '[{"send": "pg_welcome"}]')$$) AS twice;
SELECT drop_program('pg_loop');
SELECT pg_temp.try($$SELECT lead_gen.drop_program('pg_loop')$$) AS dropped;

-- 3. The welcome series: entered from a static segment, exits at SQL,
-- a quarter held out
INSERT INTO lead (lead_id, email, first_name, company_name, consent)
SELECT 9700 + i, 'pg' || i || '@prog.example', 'Pat' || i, 'Co ' || i, 'subscribed'
FROM generate_series(1, 12) AS i;
SELECT create_segment('pg_signups', NULL, false) > 0 AS segment;
SELECT create_program('pg_welcome', '[
	{"send": "pg_welcome"},
	{"wait": "2 days"},
	{"branch": "count(email_open within 7 days) >= 1", "then": "tips", "else": "nudge"},
	{"label": "nudge", "send": "pg_nudge"},
	{"label": "tips", "send": "pg_tips"},
	{"notify_sales": "welcome series done"}
]', entry => 'pg_signups', goal => 'stage in (sql, opportunity, customer)', holdout => 0.25) > 0 AS program;
SELECT s.name, s.live, s.criteria FROM segment s JOIN program p ON p.goal_segment_id = s.segment_id;
SELECT step, label, kind, content_key, wait, criterion, then_step, else_step, message
FROM program_step WHERE program_id = program_id('pg_welcome') ORDER BY step;
-- joining the segment enrols, now; the held-out run no steps
SELECT count(add_to_segment('pg_signups', lead_id)) FROM lead WHERE lead_id BETWEEN 9701 AND 9712;
SELECT pg_temp.ways('pg_welcome');
SELECT bool_and(e.holdout = held_out(e.program_id, e.lead_id, 0.25)) AS holdout_by_lead_id,
	   count(*) FILTER (WHERE e.holdout) AS held_out, count(*) FILTER (WHERE e.cause = 'segment') AS by_segment
FROM enrollment e WHERE e.program_id = program_id('pg_welcome');
-- leaving and joining again: no re-entry (reentry is NULL), and enroll() says NULL
SELECT remove_from_segment('pg_signups', 9701), add_to_segment('pg_signups', 9701);
SELECT enroll(9701, 'pg_welcome') AS again, count(*) AS enrolments FROM enrollment WHERE lead_id = 9701 GROUP BY 1;
SELECT pg_temp.try($$SELECT lead_gen.enroll(1234567890, 'pg_welcome')$$) AS no_lead,
	   pg_temp.try($$SELECT lead_gen.enroll(9701, 'no program')$$) AS no_program,
	   pg_temp.try($$SELECT lead_gen.enroll(NULL, 'pg_welcome')$$) AS null_lead;

-- 4. Advancing: the first step is due; it sends and waits two days
CALL advance_programs(5, NULL);
SELECT pg_temp.ways('pg_welcome');
SELECT pg_temp.messages('pg_welcome');
SELECT bool_and(e.next_at > now() + interval '47 hours' AND e.next_at <= now() + interval '2 days') AS waits_two_days
FROM enrollment e WHERE e.program_id = program_id('pg_welcome') AND NOT e.holdout;
SELECT fields FROM outbox WHERE lead_id = 9702;
-- a second run finds nothing due and writes nothing twice
CALL advance_programs();
SELECT count(*) AS messages FROM outbox WHERE program_id = program_id('pg_welcome');
SELECT pg_temp.try($$CALL lead_gen.advance_programs(0)$$) AS batch_0;

-- 5. The outbox: claim, ack, fail, leases
SELECT lead_id, content_key, status, attempts, claimed_by, visible_at > now() + interval '59 seconds' AS leased
FROM claim_messages('w1', 2, '1 minute') ORDER BY lead_id;
SELECT count(*) AS second_worker FROM claim_messages('w2', 100);
SELECT count(*) AS third_worker_finds_none FROM claim_messages('w3');
SELECT ack_message(message_id, 'smtp-1') FROM outbox WHERE lead_id = 9702 AND step = 1;
SELECT pg_temp.try(format('SELECT lead_gen.ack_message(%s, %L)', message_id, 'again')) AS ack_twice
FROM outbox WHERE lead_id = 9702 AND step = 1;
SELECT pg_temp.try($$SELECT lead_gen.ack_message(-1, 'x')$$) AS unknown,
	   pg_temp.try($$SELECT lead_gen.ack_message(NULL, 'x')$$) AS null_id,
	   pg_temp.try($$SELECT lead_gen.claim_messages('w', 0)$$) AS max_0,
	   pg_temp.try($$SELECT lead_gen.claim_messages('', 1)$$) AS no_worker,
	   pg_temp.try($$SELECT lead_gen.claim_messages('w', 1, '0')$$) AS lease_0,
	   pg_temp.try($$SELECT lead_gen.fail_message(1, 'x', 'infinity')$$) AS retry_infinity;
SELECT status, sent_at IS NOT NULL AS sent, provider_ref FROM outbox WHERE lead_id = 9702 AND step = 1;
-- a failure comes back after the retry delay; a message never acked after its lease
SELECT fail_message(message_id, 'smtp 451 try later') FROM outbox WHERE lead_id = 9703 AND step = 1;
SELECT status, last_error, visible_at BETWEEN now() + interval '4 minutes' AND now() + interval '5 minutes' AS in_five_minutes
FROM outbox WHERE lead_id = 9703 AND step = 1;
SELECT pg_temp.try(format('SELECT lead_gen.fail_message(%s, %L)', message_id, 'again')) AS fail_pending
FROM outbox WHERE lead_id = 9703 AND step = 1;
UPDATE outbox SET visible_at = now() - interval '1 second' WHERE lead_id IN (9703, 9704) AND step = 1;
SELECT lead_id, attempts, claimed_by FROM claim_messages('w4', 10) ORDER BY lead_id;
-- the worker whose lease ran out holds them no more; the new holder may say
SELECT pg_temp.try(format('SELECT lead_gen.ack_message(%s, %L, %L)', message_id, 'late', 'w1')) AS old_holder_acks,
	   pg_temp.try(format('SELECT lead_gen.fail_message(%s, %L, NULL, %L)', message_id, 'late', 'w2')) AS old_holder_fails
FROM outbox WHERE lead_id = 9703 AND step = 1;
-- the retry ran out of attempts: dead, and reported
UPDATE outbox_settings SET max_attempts = 2;
SELECT fail_message(message_id, 'mailbox full', worker => 'w4') FROM outbox WHERE lead_id = 9703 AND step = 1;
SELECT status, visible_at, last_error FROM outbox WHERE lead_id = 9703 AND step = 1;
SELECT fail_message(message_id, 'timeout', now() + interval '1 hour') FROM outbox WHERE lead_id = 9704 AND step = 1;
SELECT status, visible_at > now() + interval '59 minutes' AS retry_at_kept FROM outbox WHERE lead_id = 9704 AND step = 1;
UPDATE outbox_settings SET max_attempts = 5;
SELECT ack_message(o.message_id, 'smtp-' || o.lead_id) FROM outbox o
WHERE o.program_id = program_id('pg_welcome') AND o.status = 'claimed' ORDER BY o.message_id;

-- 6. Time passes: openers get the tips, the others a nudge first, then
-- sales hears; the series completes.  A lead that reached SQL (the goal)
-- while its step was due has left and gets nothing more.
INSERT INTO activity (lead_id, kind, properties)
SELECT o.lead_id, 'email_open', jsonb_build_object('message_id', o.message_id)
FROM outbox o WHERE o.lead_id IN (9702, 9705) AND o.step = 1;
INSERT INTO activity (lead_id, kind, properties)
SELECT o.lead_id, 'email_click', jsonb_build_object('message_id', o.message_id)
FROM outbox o WHERE o.lead_id = 9702 AND o.step = 1;
SELECT pg_temp.time_passes('pg_welcome');
SELECT (transition(9710, 'mql')).to_stage, (transition(9710, 'sql')).to_stage;
SELECT pg_temp.ways('pg_welcome');
CALL advance_programs();
SELECT pg_temp.ways('pg_welcome');
SELECT pg_temp.messages('pg_welcome');
-- Between writing and claiming: an unsubscribe (suppressed), consent
-- withdrawn (unsubscribed), a soft bounce (no matter), a hard bounce, and
-- the goal reached after the steps ran (what was not handed out stays)
INSERT INTO activity (lead_id, kind, properties) VALUES
	(9703, 'unsubscribe', '{}'), (9707, 'bounce', '{"bounce": "soft"}'), (9708, 'bounce', '{"bounce": "hard"}');
UPDATE lead SET consent = 'unsubscribed' WHERE lead_id = 9704;
SELECT lead_id, channel, reason, activity_id IS NOT NULL AS from_activity FROM suppression WHERE lead_id BETWEEN 9701 AND 9712 ORDER BY 1;
SELECT (transition(9705, 'mql')).to_stage, (transition(9705, 'sql')).to_stage;
SELECT lead_id, step, content_key FROM claim_messages('w5', 100) ORDER BY lead_id, step;
SELECT pg_temp.messages('pg_welcome');

-- 7. Transactional messages pass consent, not a hard bounce
SELECT create_program('pg_receipts', '[{"send": "pg_receipt"}]') > 0 AS receipts;
SELECT count(enroll(l, 'pg_receipts')) FROM unnest(ARRAY[9703, 9704, 9708]) AS l;
CALL advance_programs();
SELECT lead_id, step, content_key FROM claim_messages('w6', 100) ORDER BY lead_id;
SELECT pg_temp.messages('pg_receipts');
SELECT pg_temp.ways('pg_receipts');

-- 8. The frequency cap: one marketing message per lead a day.  A new lead
-- has had none: one of its two goes out, the other waits a day; 9711 was
-- handed two just now: both wait.  Transactional messages do not count.
UPDATE outbox_settings SET cap_messages = 1, cap_window = '1 day';
SELECT create_program('pg_capped', '[{"send": "pg_tips"}, {"send": "pg_nudge"}, {"send": "pg_receipt"}]') > 0 AS capped;
INSERT INTO lead (lead_id, email, consent) VALUES (9714, 'pg14@prog.example', 'subscribed');
SELECT enroll(9714, 'pg_capped') > 0, enroll(9711, 'pg_capped') > 0;
CALL advance_programs();
SELECT lead_id, content_key FROM claim_messages('w7', 100) ORDER BY message_id;
SELECT lead_id, content_key, status, visible_at > now() + interval '23 hours' AS held_for_a_day
FROM outbox WHERE program_id = program_id('pg_capped') ORDER BY lead_id, step;
UPDATE outbox_settings SET cap_messages = NULL;

-- 9. Stage and branch steps, re-entry, unenroll, time zones
SELECT create_segment('pg_vip', NULL, false) > 0 AS vip;
SELECT create_program('pg_stager', '[
	{"stage": "mql", "reason": "nurtured"},
	{"stage": "customer"},
	{"stage": "prospect"},
	{"wait_until": {"weekday": ["tue", "thu"], "hour": 9, "minute": 30}}
]', entry => 'pg_vip', reentry => '0') > 0 AS stager;
UPDATE lead SET attributes = '{"time_zone": "America/New_York"}' WHERE lead_id = 9711;
UPDATE lead SET attributes = '{"time_zone": "Nowhere/Special"}' WHERE lead_id = 9712;
SELECT add_to_segment('pg_vip', 9711), add_to_segment('pg_vip', 9712);
CALL advance_programs();
SELECT lead_id, stage FROM lead WHERE lead_id IN (9711, 9712) ORDER BY 1;
SELECT c.lead_id, c.to_stage, c.reason FROM stage_change c WHERE c.lead_id IN (9711, 9712) ORDER BY c.stage_change_id;
SELECT e.lead_id, e.last_error,
	   extract(isodow FROM e.next_at AT TIME ZONE CASE e.lead_id WHEN 9711 THEN 'America/New_York' ELSE 'UTC' END) IN (2, 4) AS weekday,
	   to_char(e.next_at AT TIME ZONE CASE e.lead_id WHEN 9711 THEN 'America/New_York' ELSE 'UTC' END, 'HH24:MI') AS local_time
FROM enrollment e WHERE e.program_id = program_id('pg_stager') ORDER BY 1;
SELECT next_local_time('2026-12-03 12:00+00', 'Europe/Berlin', '{2}', 9, 0) AS next_tuesday_nine,
	   next_local_time('2026-12-03 07:59+00', 'Europe/Berlin', NULL, 9, 0) AS today_nine,
	   next_local_time('2026-12-03 08:00+00', 'Europe/Berlin', NULL, 9, 0) AS tomorrow_nine,
	   next_local_time('2026-03-28 12:00+00', 'Europe/Berlin', NULL, 2, 30) AS in_the_dst_gap;
SELECT pg_temp.time_passes('pg_stager');
CALL advance_programs();
-- completed: leaving and joining again enters round 2 (reentry 0)
SELECT remove_from_segment('pg_vip', 9711), add_to_segment('pg_vip', 9711);
SELECT pg_temp.ways('pg_stager');
SELECT unenroll(9711, 'pg_stager') AS taken_out, unenroll(9711, 'pg_stager') AS not_enrolled;
SELECT pg_temp.ways('pg_stager');

-- 10. A live entry segment: a lead that joins by an edit is enrolled in
-- the same transaction, and so is a new lead
SELECT create_segment('pg_fintech', 'industry = fintech') > 0 AS live;
SELECT create_program('pg_fin', '[{"send": "pg_tips"}]', entry => 'pg_fintech') > 0 AS fin;
UPDATE lead SET industry = 'fintech' WHERE lead_id = 9712;
INSERT INTO lead (lead_id, email, industry) VALUES (9713, 'pg13@prog.example', 'fintech');
SELECT pg_temp.ways('pg_fin');
SELECT pg_temp.try($$SELECT lead_gen.drop_segment('pg_fintech')$$) AS entry_segment_in_use;

-- 11. Reports: per step, and members against the held-out
SELECT program, step, content_key, messages, sent, delivered, skipped, dead, opened, clicked,
	   bounced, unsubscribed, reached_goal, median_time_to_goal IS NOT NULL AS timed
FROM program_report('pg_welcome');
-- the held-out reach the goal too: the program's lift is measured against them
SELECT (transition(l, 'mql')).to_stage, (transition(l, 'sql')).to_stage
FROM (SELECT lead_id FROM enrollment WHERE program_id = program_id('pg_welcome') AND holdout ORDER BY lead_id LIMIT 2) AS h(l);
SELECT members, members_converted, round(member_rate::numeric, 4) AS member_rate,
	   holdouts, holdouts_converted, round(holdout_rate::numeric, 4) AS holdout_rate,
	   round(lift::numeric, 4) AS lift, round(lift_low::numeric, 4) AS lift_low, round(lift_high::numeric, 4) AS lift_high
FROM program_lift('pg_welcome');
SELECT pg_temp.try($$SELECT lead_gen.program_lift('pg_receipts')$$) AS no_goal;

-- 12. Who may do what: writers enrol, senders claim and ack and read nothing
CREATE ROLE lg_prog_writer;
CREATE ROLE lg_prog_sender;
CREATE ROLE lg_prog_reader;
SELECT grant_access('lg_prog_writer', 'writer'), grant_access('lg_prog_sender', 'sender'),
	   grant_access('lg_prog_reader', 'reader');
SET ROLE lg_prog_writer;
SELECT enroll(9713, 'pg_receipts') > 0 AS writer_enrolls;
SELECT pg_temp.try($$INSERT INTO lead_gen.outbox (step, program_id, lead_id, channel, content_key, policy, fields, due_at, visible_at) VALUES (1, 1, 9713, 'email', 'pg_tips', 'marketing', '{}', now(), now())$$) AS writer_writes_outbox,
	   pg_temp.try($$UPDATE lead_gen.enrollment SET step = 1$$) AS writer_moves_enrolment,
	   pg_temp.try($$CALL lead_gen.advance_programs()$$) AS writer_advances,
	   pg_temp.try($$SELECT lead_gen.create_program('pg_w', '[{"send": "pg_tips"}]')$$) AS writer_defines;
INSERT INTO activity (lead_id, kind) VALUES (9713, 'unsubscribe');
RESET ROLE;
SET ROLE lg_prog_sender;
SELECT pg_temp.try($$SELECT count(*) FROM lead_gen.outbox$$) AS sender_reads_outbox,
	   pg_temp.try($$SELECT count(*) FROM lead_gen.lead$$) AS sender_reads_leads,
	   pg_temp.try($$SELECT lead_gen.enroll(9713, 'pg_receipts')$$) AS sender_enrolls;
RESET ROLE;
CALL advance_programs();
SET ROLE lg_prog_sender;
SELECT lead_id, content_key FROM claim_messages('sender', 10);
RESET ROLE;
SET ROLE lg_prog_reader;
SELECT pg_temp.try($$SELECT lead_gen.claim_messages('reader', 1)$$) AS reader_claims,
	   pg_temp.try($$SELECT lead_gen.enroll(9713, 'pg_receipts')$$) AS reader_enrolls;
RESET ROLE;
SELECT revoke_access('lg_prog_sender');
SET ROLE lg_prog_sender;
SELECT pg_temp.try($$SELECT lead_gen.claim_messages('sender', 1)$$) AS revoked_sender_claims;
RESET ROLE;

-- 13. A merge keeps both leads' messages; forget() erases what they carry
SELECT enroll(9705, 'pg_receipts') > 0 AS enrolled;
CALL advance_programs();
SELECT count(*) AS messages_before FROM outbox WHERE lead_id IN (9704, 9705);
SELECT merge_leads(9704, 9705, 'same person') AS winner;
SELECT count(*) AS messages_after, bool_and(lead_id = 9704) AS all_the_winners FROM outbox WHERE lead_id IN (9704, 9705);
SELECT program_id = program_id('pg_receipts') AS receipts, lead_id, round, status FROM enrollment WHERE lead_id IN (9704, 9705) ORDER BY 1, 2, 3;
SELECT forget(9704);
SELECT status, skip_reason, fields FROM outbox WHERE lead_id = 9704 ORDER BY program_id, step, message_id;

-- 13b. Taken out with a message not yet handed out: it is skipped; a
-- program that holds no one out has no lift to give, only its members
SELECT create_program('pg_out', '[{"send": "pg_tips"}, {"wait": "1 day"}, {"send": "pg_nudge"}]', goal => 'stage = customer') > 0 AS program;
INSERT INTO lead (lead_id, email, consent) VALUES (9715, 'pg15@prog.example', 'subscribed');
SELECT enroll(9715, 'pg_out') > 0 AS enrolled;
CALL advance_programs();
SELECT unenroll(9715, 'pg_out') AS taken_out;
SELECT pg_temp.ways('pg_out');
SELECT pg_temp.messages('pg_out');
SELECT * FROM program_lift('pg_out');

-- 14. Dropping a program takes its enrolments, messages and goal segment
SELECT drop_program(name) FROM program WHERE name LIKE 'pg_%' ORDER BY name;
SELECT (SELECT count(*) FROM enrollment) AS enrolments, (SELECT count(*) FROM outbox) AS messages,
	   (SELECT count(*) FROM segment WHERE name LIKE 'program %') AS goal_segments;
SELECT drop_segment(name) FROM segment WHERE name LIKE 'pg_%' ORDER BY name;
DELETE FROM lead WHERE lead_id BETWEEN 9701 AND 9715;
DELETE FROM content WHERE content_key LIKE 'pg_%';
DROP OWNED BY lg_prog_writer, lg_prog_sender, lg_prog_reader;
DROP ROLE lg_prog_writer, lg_prog_sender, lg_prog_reader;
