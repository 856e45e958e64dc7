/*
 * sql/install/reports.sql
 *
 * Funnel reports: leads per period, the stage funnel, conversion,
 * velocity, money and attribution.
 *
 * The current definition: edit here; make builds lead_gen--<version>.sql
 * from the files of sql/install/ in the order the Makefile lists them.
 */

-- ---------------------------------------------------------------------------
-- Funnel reports: leads per period, the stage funnel, conversion, velocity,
-- money and attribution.  Every report takes an optional period of lead
-- creation (from_date .. to_date, inclusive, UTC days) and a grouping.
-- ---------------------------------------------------------------------------

-- The period, checked; NULL ends are open.
CREATE FUNCTION @extschema@.report_period(from_date date, to_date date,
	OUT from_ts timestamptz, OUT to_ts timestamptz)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF from_date > to_date THEN
		RAISE EXCEPTION 'the period ends (%) before it starts (%)', to_date, from_date
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	from_ts := coalesce(from_date::timestamp AT TIME ZONE 'UTC', '-infinity');
	to_ts := coalesce((to_date + 1)::timestamp AT TIME ZONE 'UTC', 'infinity');
END
$$;
COMMENT ON FUNCTION @extschema@.report_period(date, date) IS
	'The instants a report period covers: from the start of from_date to the end of to_date (UTC); NULL ends are open; an end before the start is an error';

CREATE FUNCTION @extschema@.check_period_unit(period text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF period IS NULL OR period NOT IN ('day', 'week', 'month', 'quarter', 'year') THEN
		RAISE EXCEPTION 'unknown period "%"', period
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Use day, week, month, quarter or year.';
	END IF;
	RETURN period;
END
$$;
COMMENT ON FUNCTION @extschema@.check_period_unit(text) IS
	'Checks the unit of a per-period report: day, week, month, quarter or year';

CREATE FUNCTION @extschema@.check_group_by(group_by text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF group_by IS NOT NULL AND group_by NOT IN ('channel', 'campaign', 'cohort', 'grade', 'industry', 'country') THEN
		RAISE EXCEPTION 'unknown grouping "%"', group_by
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Group by channel, campaign, cohort (month of creation), grade, industry or country, or NULL for all leads.';
	END IF;
	RETURN group_by;
END
$$;
COMMENT ON FUNCTION @extschema@.check_group_by(text) IS
	'Checks a report grouping: channel, campaign, cohort, grade, industry, country or NULL';

-- The segment a lead falls in under a grouping.  Inlined into the reports
-- (no SET clause, every name qualified), so no function call per lead.
CREATE FUNCTION @extschema@.lead_segment(l @extschema@.lead, group_by text, campaign_name text)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT CASE
		WHEN $2 OPERATOR(pg_catalog.=) 'channel' THEN coalesce(($1).source_channel::pg_catalog.text, '(none)')
		WHEN $2 OPERATOR(pg_catalog.=) 'campaign' THEN coalesce($3, '(none)')
		WHEN $2 OPERATOR(pg_catalog.=) 'cohort'
			THEN pg_catalog.to_char(pg_catalog.timezone('UTC', ($1).created_at), 'YYYY-MM')
		WHEN $2 OPERATOR(pg_catalog.=) 'grade' THEN coalesce(($1).grade, '(none)')
		WHEN $2 OPERATOR(pg_catalog.=) 'industry' THEN coalesce(($1).industry::pg_catalog.text, '(none)')
		WHEN $2 OPERATOR(pg_catalog.=) 'country' THEN coalesce(($1).country::pg_catalog.text, '(none)')
		ELSE 'all' END
$$;
COMMENT ON FUNCTION @extschema@.lead_segment(@extschema@.lead, text, text) IS
	'The segment of a lead under a report grouping (''all'' for none), given the name of its campaign';

CREATE FUNCTION @extschema@.leads_per_period(from_date date DEFAULT NULL, to_date date DEFAULT NULL,
	period text DEFAULT 'month', group_by text DEFAULT NULL)
RETURNS TABLE (period_start date, segment text, leads bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p record := @extschema@.report_period(from_date, to_date);
BEGIN
	PERFORM @extschema@.check_period_unit(period);
	PERFORM @extschema@.check_group_by(group_by);
	RETURN QUERY
	SELECT date_trunc(period, l.created_at AT TIME ZONE 'UTC')::date, @extschema@.lead_segment(l, group_by, cn.name),
		   count(*)
	FROM @extschema@.lead AS l
	LEFT JOIN @extschema@.campaign AS cn ON cn.campaign_id = l.campaign_id AND group_by = 'campaign'
	WHERE l.created_at >= p.from_ts AND l.created_at < p.to_ts
	GROUP BY 1, 2
	ORDER BY 1, 2;
END
$$;
COMMENT ON FUNCTION @extschema@.leads_per_period(date, date, text, text) IS
	'New leads per day, week, month, quarter or year (UTC), optionally per segment';

-- A lead's highest forward stage at a moment, from its history.
CREATE FUNCTION @extschema@.peak_stage_at(lead_id bigint, at timestamptz)
RETURNS @extschema@.lifecycle_stage
LANGUAGE plpgsql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT isfinite(at) THEN
		RAISE EXCEPTION 'at must be a finite timestamp' USING ERRCODE = 'datetime_field_overflow';
	END IF;
	RETURN (SELECT greatest(
		coalesce((SELECT c.from_stage FROM @extschema@.stage_change AS c
				  WHERE c.lead_id = l.lead_id ORDER BY c.changed_at, c.stage_change_id LIMIT 1), l.stage),
		(SELECT max(c.to_stage) FROM @extschema@.stage_change AS c
		 WHERE c.lead_id = l.lead_id AND c.changed_at <= peak_stage_at.at AND c.to_stage <> 'disqualified'))
	FROM @extschema@.lead AS l
	WHERE l.lead_id = peak_stage_at.lead_id AND l.created_at <= peak_stage_at.at);
END
$$;
COMMENT ON FUNCTION @extschema@.peak_stage_at(bigint, timestamptz) IS
	'The highest of prospect .. customer a lead had reached at a moment (its first stage if disqualified at once); NULL before it existed';

CREATE FUNCTION @extschema@.stage_funnel(from_date date DEFAULT NULL, to_date date DEFAULT NULL,
	group_by text DEFAULT NULL, as_of timestamptz DEFAULT NULL)
RETURNS TABLE (segment text, stage @extschema@.lifecycle_stage, reached bigint,
			   pct_of_leads numeric, pct_of_previous numeric)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p record := @extschema@.report_period(from_date, to_date);
BEGIN
	PERFORM @extschema@.check_group_by(group_by);
	IF NOT isfinite(as_of) THEN
		RAISE EXCEPTION 'as_of must be a finite timestamp' USING ERRCODE = 'datetime_field_overflow';
	END IF;
	RETURN QUERY
	WITH leads AS (
		SELECT @extschema@.lead_segment(l, group_by, cn.name) AS seg,
			   CASE WHEN as_of IS NULL THEN l.peak_stage
					ELSE @extschema@.peak_stage_at(l.lead_id, as_of) END AS peak
		FROM @extschema@.lead AS l
		LEFT JOIN @extschema@.campaign AS cn ON cn.campaign_id = l.campaign_id AND group_by = 'campaign'
		WHERE l.created_at >= p.from_ts AND l.created_at < p.to_ts
		  AND (as_of IS NULL OR l.created_at <= as_of)),
	per_peak AS (
		SELECT x.seg, x.peak, count(*) AS n FROM leads AS x GROUP BY x.seg, x.peak),
	counts AS (
		SELECT x.seg, s.stage, coalesce(sum(x.n) FILTER (WHERE x.peak >= s.stage), 0)::bigint AS n,
			   sum(x.n)::bigint AS total
		FROM per_peak AS x
		CROSS JOIN unnest(enum_range('prospect'::@extschema@.lifecycle_stage, 'customer')) AS s(stage)
		GROUP BY x.seg, s.stage)
	SELECT c.seg, c.stage, c.n,
		   round(100.0 * c.n / nullif(c.total, 0), 1),
		   round(100.0 * c.n / nullif(lag(c.n) OVER (PARTITION BY c.seg ORDER BY c.stage), 0), 1)
	FROM counts AS c
	ORDER BY c.seg, c.stage;
END
$$;
COMMENT ON FUNCTION @extschema@.stage_funnel(date, date, text, timestamptz) IS
	'The stage funnel of the leads created in a period: per segment and stage, how many reached it (or a later one), as a share of all and of the stage before; as_of: as it stood then';

CREATE FUNCTION @extschema@.mql_acceptance(from_date date DEFAULT NULL, to_date date DEFAULT NULL,
	group_by text DEFAULT NULL)
RETURNS TABLE (segment text, mqls bigint, accepted bigint, rejected bigint, pending bigint,
			   acceptance_rate numeric)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p record := @extschema@.report_period(from_date, to_date);
BEGIN
	PERFORM @extschema@.check_group_by(group_by);
	RETURN QUERY
	WITH mql AS (
		SELECT @extschema@.lead_segment(l, group_by, cn.name) AS seg, l.peak_stage,
			   (SELECT c.to_stage FROM @extschema@.stage_change AS c
				WHERE c.lead_id = l.lead_id AND c.from_stage = 'mql'
				ORDER BY c.changed_at, c.stage_change_id LIMIT 1) AS left_to
		FROM @extschema@.lead AS l
		LEFT JOIN @extschema@.campaign AS cn ON cn.campaign_id = l.campaign_id AND group_by = 'campaign'
		WHERE l.mql_at >= p.from_ts AND l.mql_at < p.to_ts)
	SELECT m.seg, count(*),
		   count(*) FILTER (WHERE m.left_to > 'mql' AND m.left_to <> 'disqualified'
								OR m.left_to IS NULL AND m.peak_stage > 'mql'),
		   count(*) FILTER (WHERE m.left_to < 'mql' OR m.left_to = 'disqualified'),
		   count(*) FILTER (WHERE m.left_to IS NULL AND m.peak_stage <= 'mql'),
		   round(100.0 * count(*) FILTER (WHERE m.left_to > 'mql' AND m.left_to <> 'disqualified'
											  OR m.left_to IS NULL AND m.peak_stage > 'mql')
				 / nullif(count(*) FILTER (WHERE m.left_to IS NOT NULL OR m.peak_stage > 'mql'), 0), 1)
	FROM mql AS m
	GROUP BY m.seg
	ORDER BY m.seg;
END
$$;
COMMENT ON FUNCTION @extschema@.mql_acceptance(date, date, text) IS
	'Of the leads that became MQLs in a period: how many sales accepted (moved on to sql or later), rejected (recycled or disqualified from mql), still pending; the rate among those decided';

CREATE FUNCTION @extschema@.time_in_stage(from_date date DEFAULT NULL, to_date date DEFAULT NULL,
	group_by text DEFAULT NULL)
RETURNS TABLE (segment text, stage @extschema@.lifecycle_stage, stays bigint,
			   median interval, p90 interval, mean interval)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p record := @extschema@.report_period(from_date, to_date);
BEGIN
	PERFORM @extschema@.check_group_by(group_by);
	RETURN QUERY
	WITH stays AS (
		SELECT c.from_stage AS stage, c.changed_at AS ended_at,
			   c.changed_at - coalesce(lag(c.changed_at) OVER w, l.created_at) AS spent,
			   @extschema@.lead_segment(l, group_by, cn.name) AS seg
		FROM @extschema@.stage_change AS c
		JOIN @extschema@.lead AS l ON l.lead_id = c.lead_id
		LEFT JOIN @extschema@.campaign AS cn ON cn.campaign_id = l.campaign_id AND group_by = 'campaign'
		WINDOW w AS (PARTITION BY c.lead_id ORDER BY c.changed_at, c.stage_change_id))
	SELECT s.seg, s.stage, count(*),
		   justify_hours(date_trunc('second', percentile_cont(0.5) WITHIN GROUP (ORDER BY s.spent))),
		   justify_hours(date_trunc('second', percentile_cont(0.9) WITHIN GROUP (ORDER BY s.spent))),
		   justify_hours(date_trunc('second', avg(s.spent)))
	FROM stays AS s
	WHERE s.ended_at >= p.from_ts AND s.ended_at < p.to_ts
	GROUP BY s.seg, s.stage
	ORDER BY s.seg, s.stage;
END
$$;
COMMENT ON FUNCTION @extschema@.time_in_stage(date, date, text) IS
	'How long leads stayed in each stage, from the stays that ended in a period (a lead''s first stay starts at its creation): count, median, 90th percentile, mean';

CREATE FUNCTION @extschema@.speed_to_lead_report(from_date date DEFAULT NULL, to_date date DEFAULT NULL,
	group_by text DEFAULT NULL)
RETURNS TABLE (segment text, leads bigint, touched bigint, median_from_arrival interval,
			   p90_from_arrival interval, mqls bigint, median_from_mql interval, p90_from_mql interval)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p record := @extschema@.report_period(from_date, to_date);
BEGIN
	PERFORM @extschema@.check_group_by(group_by);
	RETURN QUERY
	SELECT @extschema@.lead_segment(l, group_by, cn.name) AS seg, count(*),
		   count(l.first_touch_at),
		   justify_hours(date_trunc('second', percentile_cont(0.5) WITHIN GROUP (ORDER BY l.first_touch_at - l.created_at))),
		   justify_hours(date_trunc('second', percentile_cont(0.9) WITHIN GROUP (ORDER BY l.first_touch_at - l.created_at))),
		   count(l.mql_at),
		   justify_hours(date_trunc('second', percentile_cont(0.5) WITHIN GROUP (ORDER BY l.first_touch_at - l.mql_at)
			   FILTER (WHERE l.first_touch_at >= l.mql_at))),
		   justify_hours(date_trunc('second', percentile_cont(0.9) WITHIN GROUP (ORDER BY l.first_touch_at - l.mql_at)
			   FILTER (WHERE l.first_touch_at >= l.mql_at)))
	FROM @extschema@.lead AS l
	LEFT JOIN @extschema@.campaign AS cn ON cn.campaign_id = l.campaign_id AND group_by = 'campaign'
	WHERE l.created_at >= p.from_ts AND l.created_at < p.to_ts
	GROUP BY 1
	ORDER BY 1;
END
$$;
COMMENT ON FUNCTION @extschema@.speed_to_lead_report(date, date, text) IS
	'Speed to lead of the leads created in a period: median and 90th percentile time from arrival, and from reaching mql (touches after it), to the first sales touch';

-- What a campaign spent within a period: its spend spread evenly over the
-- days it ran (starts_on .. ends_on, or its creation .. today while it runs).
CREATE FUNCTION @extschema@.campaign_spend(c @extschema@.campaign, from_date date, to_date date)
RETURNS numeric
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN from_date IS NULL AND to_date IS NULL THEN c.spend
				ELSE round(c.spend * greatest(0, least(coalesce(to_date, 'infinity'), e.last)
											   - greatest(coalesce(from_date, '-infinity'), e.first) + 1)
						   / (e.last - e.first + 1), 2) END
	FROM (SELECT coalesce(c.starts_on, (c.created_at AT TIME ZONE 'UTC')::date) AS first,
				 greatest(coalesce(c.ends_on, (now() AT TIME ZONE 'UTC')::date),
						  coalesce(c.starts_on, (c.created_at AT TIME ZONE 'UTC')::date)) AS last) AS e
$$;
COMMENT ON FUNCTION @extschema@.campaign_spend(@extschema@.campaign, date, date) IS
	'The part of a campaign''s spend that falls in a period (spread evenly over the days it ran; while running, up to today)';

CREATE FUNCTION @extschema@.campaign_report(from_date date DEFAULT NULL, to_date date DEFAULT NULL)
RETURNS TABLE (campaign_id bigint, campaign text, channel text, spend numeric, leads bigint,
			   mqls bigint, sqls bigint, customers bigint, cost_per_lead numeric, cost_per_mql numeric,
			   cost_per_customer numeric, conversion_rate numeric)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p record := @extschema@.report_period(from_date, to_date);
BEGIN
	RETURN QUERY
	WITH won AS (
		SELECT l.campaign_id, count(*) AS leads,
			   count(*) FILTER (WHERE l.peak_stage >= 'mql') AS mqls,
			   count(*) FILTER (WHERE l.peak_stage >= 'sql') AS sqls,
			   count(*) FILTER (WHERE l.peak_stage = 'customer') AS customers
		FROM @extschema@.lead AS l
		WHERE l.created_at >= p.from_ts AND l.created_at < p.to_ts AND l.campaign_id IS NOT NULL
		GROUP BY l.campaign_id),
	r AS (
		SELECT c.campaign_id, c.name, c.channel::text AS channel,
			   @extschema@.campaign_spend(c, from_date, to_date) AS spend,
			   coalesce(w.leads, 0) AS leads, coalesce(w.mqls, 0) AS mqls,
			   coalesce(w.sqls, 0) AS sqls, coalesce(w.customers, 0) AS customers
		FROM @extschema@.campaign AS c
		LEFT JOIN won AS w ON w.campaign_id = c.campaign_id)
	SELECT r.campaign_id, r.name, r.channel, r.spend, r.leads, r.mqls, r.sqls, r.customers,
		   CASE WHEN r.spend > 0 AND r.leads > 0 THEN round(r.spend / r.leads, 2) END,
		   CASE WHEN r.spend > 0 AND r.mqls > 0 THEN round(r.spend / r.mqls, 2) END,
		   CASE WHEN r.spend > 0 AND r.customers > 0 THEN round(r.spend / r.customers, 2) END,
		   round(100.0 * r.customers / nullif(r.leads, 0), 1)
	FROM r
	ORDER BY r.channel, r.name;
END
$$;
COMMENT ON FUNCTION @extschema@.campaign_report(date, date) IS
	'Per campaign, for the leads it brought in a period: spend in the period, leads, MQLs, SQLs, customers, cost per lead, per MQL and per customer (NULL without spend or without any), lead-to-customer conversion in percent';

CREATE FUNCTION @extschema@.channel_report(from_date date DEFAULT NULL, to_date date DEFAULT NULL)
RETURNS TABLE (channel text, spend numeric, leads bigint, mqls bigint, sqls bigint, customers bigint,
			   cost_per_lead numeric, cost_per_mql numeric, cost_per_customer numeric,
			   conversion_rate numeric)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p record := @extschema@.report_period(from_date, to_date);
BEGIN
	RETURN QUERY
	WITH won AS (
		SELECT coalesce(c.channel::text, l.source_channel::text, '(none)') AS channel, count(*) AS leads,
			   count(*) FILTER (WHERE l.peak_stage >= 'mql') AS mqls,
			   count(*) FILTER (WHERE l.peak_stage >= 'sql') AS sqls,
			   count(*) FILTER (WHERE l.peak_stage = 'customer') AS customers
		FROM @extschema@.lead AS l
		LEFT JOIN @extschema@.campaign AS c ON c.campaign_id = l.campaign_id
		WHERE l.created_at >= p.from_ts AND l.created_at < p.to_ts
		GROUP BY 1),
	spent AS (
		SELECT c.channel::text AS channel, sum(@extschema@.campaign_spend(c, from_date, to_date)) AS spend
		FROM @extschema@.campaign AS c
		GROUP BY 1),
	r AS (
		SELECT coalesce(w.channel, s.channel) AS channel, coalesce(s.spend, 0) AS spend,
			   coalesce(w.leads, 0) AS leads, coalesce(w.mqls, 0) AS mqls,
			   coalesce(w.sqls, 0) AS sqls, coalesce(w.customers, 0) AS customers
		FROM won AS w FULL JOIN spent AS s ON s.channel = w.channel)
	SELECT r.channel, r.spend, r.leads, r.mqls, r.sqls, r.customers,
		   CASE WHEN r.spend > 0 AND r.leads > 0 THEN round(r.spend / r.leads, 2) END,
		   CASE WHEN r.spend > 0 AND r.mqls > 0 THEN round(r.spend / r.mqls, 2) END,
		   CASE WHEN r.spend > 0 AND r.customers > 0 THEN round(r.spend / r.customers, 2) END,
		   round(100.0 * r.customers / nullif(r.leads, 0), 1)
	FROM r
	ORDER BY r.channel;
END
$$;
COMMENT ON FUNCTION @extschema@.channel_report(date, date) IS
	'Per channel (the campaign''s, else the lead''s source channel): spend in the period, leads created in it, MQLs, SQLs, customers, costs per lead, MQL and customer, conversion in percent';

-- When each lead first reached a stage (or a later forward one).
CREATE FUNCTION @extschema@.reached_at(lead_id bigint, stage @extschema@.lifecycle_stage)
RETURNS timestamptz
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN f.first_stage >= reached_at.stage AND f.first_stage <> 'disqualified' THEN l.created_at
				ELSE (SELECT min(c.changed_at) FROM @extschema@.stage_change AS c
					  WHERE c.lead_id = l.lead_id AND c.to_stage >= reached_at.stage
						AND c.to_stage <> 'disqualified') END
	FROM @extschema@.lead AS l
	CROSS JOIN LATERAL (
		SELECT coalesce((SELECT c.from_stage FROM @extschema@.stage_change AS c
						 WHERE c.lead_id = l.lead_id ORDER BY c.changed_at, c.stage_change_id LIMIT 1),
						l.stage) AS first_stage) AS f
	WHERE l.lead_id = reached_at.lead_id
$$;
COMMENT ON FUNCTION @extschema@.reached_at(bigint, @extschema@.lifecycle_stage) IS
	'When a lead first reached a stage or a later one of prospect .. customer (its creation if it arrived there); NULL if it never did';

CREATE FUNCTION @extschema@.attribution(model text DEFAULT 'linear',
	to_stage @extschema@.lifecycle_stage DEFAULT 'customer', from_date date DEFAULT NULL,
	to_date date DEFAULT NULL, by text DEFAULT 'campaign', half_life interval DEFAULT '7 days')
RETURNS TABLE (campaign_id bigint, campaign text, channel text, conversions numeric, touches bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p record := @extschema@.report_period(from_date, to_date);
	hl float8;
BEGIN
	IF model IS NULL OR model NOT IN ('first_touch', 'last_touch', 'linear', 'u_shaped', 'w_shaped', 'time_decay') THEN
		RAISE EXCEPTION 'unknown attribution model "%"', model
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Models: first_touch, last_touch, linear, u_shaped, w_shaped, time_decay.';
	END IF;
	IF by IS NULL OR by NOT IN ('campaign', 'channel') THEN
		RAISE EXCEPTION 'attribution is by campaign or by channel, not "%"', by
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF to_stage IS NULL OR to_stage = 'disqualified' OR to_stage = 'prospect' THEN
		RAISE EXCEPTION 'attribution needs a stage from lead to customer, not %', coalesce(to_stage::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	hl := extract(epoch FROM half_life);
	IF hl IS NULL OR hl <= 0 THEN
		RAISE EXCEPTION 'half_life must be positive' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN QUERY
	WITH conv AS (
		SELECT l.lead_id, l.created_at, l.campaign_id,
			   @extschema@.reached_at(l.lead_id, attribution.to_stage) AS conv_at,
			   @extschema@.reached_at(l.lead_id, 'opportunity') AS opp_at
		FROM @extschema@.lead AS l
		WHERE l.peak_stage >= attribution.to_stage),
	-- the touches before conversion: activity with a campaign, and the
	-- campaign that brought the lead, at its creation
	t AS (
		SELECT v.lead_id, a.campaign_id AS cid, a.occurred_at AS at, a.activity_id AS ord,
			   v.conv_at, v.created_at, v.opp_at
		FROM conv AS v
		JOIN @extschema@.activity AS a ON a.lead_id = v.lead_id
		WHERE v.conv_at >= p.from_ts AND v.conv_at < p.to_ts
		  AND a.campaign_id IS NOT NULL AND a.occurred_at <= v.conv_at
		UNION ALL
		SELECT v.lead_id, v.campaign_id, v.created_at, 0, v.conv_at, v.created_at, v.opp_at
		FROM conv AS v
		WHERE v.conv_at >= p.from_ts AND v.conv_at < p.to_ts AND v.campaign_id IS NOT NULL),
	ranked AS (
		SELECT t.*,
			   row_number() OVER w AS i,
			   count(*) OVER lw AS n,
			   -- halvings since the lead's latest touch, not since conversion:
			   -- the shares are the same, and the latest touch weighs 1, so
			   -- the sum never underflows to 0 (and 2^-1000 is 0 credit)
			   extract(epoch FROM max(t.at) OVER lw - t.at)::float8 / hl AS halvings
		FROM t
		WINDOW w AS (PARTITION BY t.lead_id ORDER BY t.at, t.ord),
			   lw AS (PARTITION BY t.lead_id)),
	anchored AS (
		SELECT r.*,
			   coalesce(max(r.i) FILTER (WHERE r.at <= r.created_at) OVER lw, 1) AS creation_i,
			   coalesce(max(r.i) FILTER (WHERE r.at <= r.opp_at) OVER lw, r.n) AS opp_i,
			   CASE WHEN r.halvings > 1000 THEN 0 ELSE power(0.5, r.halvings) END AS decay,
			   sum(CASE WHEN r.halvings > 1000 THEN 0 ELSE power(0.5, r.halvings) END) OVER lw AS decay_sum
		FROM ranked AS r
		WINDOW lw AS (PARTITION BY r.lead_id)),
	credited AS (
		SELECT a.cid, CASE model
			WHEN 'first_touch' THEN CASE WHEN a.i = 1 THEN 1 ELSE 0 END
			WHEN 'last_touch' THEN CASE WHEN a.i = a.n THEN 1 ELSE 0 END
			WHEN 'linear' THEN 1.0 / a.n
			WHEN 'time_decay' THEN a.decay / a.decay_sum
			WHEN 'u_shaped' THEN
				CASE WHEN a.i = 1 THEN 0.4 ELSE 0 END + CASE WHEN a.i = a.n THEN 0.4 ELSE 0 END
				+ CASE WHEN a.n <= 2 THEN 0.2 / a.n
					   WHEN a.i > 1 AND a.i < a.n THEN 0.2 / (a.n - 2) ELSE 0 END
			ELSE	-- w_shaped
				CASE WHEN a.i = 1 THEN 0.3 ELSE 0 END + CASE WHEN a.i = a.creation_i THEN 0.3 ELSE 0 END
				+ CASE WHEN a.i = a.opp_i THEN 0.3 ELSE 0 END
				+ CASE WHEN a.n - (SELECT count(DISTINCT x) FROM unnest(ARRAY[1, a.creation_i, a.opp_i]) AS x) = 0
					   THEN 0.1 / a.n
					   WHEN a.i NOT IN (1, a.creation_i, a.opp_i)
					   THEN 0.1 / (a.n - (SELECT count(DISTINCT x) FROM unnest(ARRAY[1, a.creation_i, a.opp_i]) AS x))
					   ELSE 0 END
			END::numeric AS credit
		FROM anchored AS a)
	SELECT CASE WHEN by = 'campaign' THEN c.campaign_id END,
		   CASE WHEN by = 'campaign' THEN min(c.name) END,
		   c.channel::text, round(sum(x.credit), 3), count(*)
	FROM credited AS x
	JOIN @extschema@.campaign AS c ON c.campaign_id = x.cid
	GROUP BY 1, 3
	ORDER BY 4 DESC, 3, 1;
END
$$;
COMMENT ON FUNCTION @extschema@.attribution(text, @extschema@.lifecycle_stage, date, date, text, interval) IS
	'Credit for the leads that reached a stage (default customer) in a period, shared among the campaigns (or channels) that touched them before: first_touch, last_touch, linear, u_shaped (40/20/40), w_shaped (30 first, 30 lead creation, 30 opportunity, 10 spread), time_decay (half-life); a lead''s credits add up to 1';

-- Text bars readable in psql.
CREATE FUNCTION @extschema@.funnel_chart(labels text[], counts numeric[], width integer DEFAULT 40)
RETURNS SETOF text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	top numeric;
	label_width int;
	number_width int;
	bar int;
BEGIN
	IF labels IS NULL OR counts IS NULL OR cardinality(labels) <> cardinality(counts) THEN
		RAISE EXCEPTION 'funnel_chart needs as many counts as labels'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF width IS NULL OR width < 1 OR width > 200 THEN
		RAISE EXCEPTION 'funnel_chart width must be from 1 to 200' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF EXISTS (SELECT FROM unnest(counts) AS c WHERE c IS NULL OR c < 0) THEN
		RAISE EXCEPTION 'funnel_chart counts must not be null or negative' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF EXISTS (SELECT FROM unnest(counts) AS c WHERE c IN ('NaN', 'Infinity')) THEN
		RAISE EXCEPTION 'funnel_chart counts must be finite' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT max(c) INTO top FROM unnest(counts) AS c;
	SELECT max(length(coalesce(l, ''))) INTO label_width FROM unnest(labels) AS l;
	SELECT max(length(c::text)) INTO number_width FROM unnest(counts) AS c;
	FOR i IN 1 .. coalesce(cardinality(labels), 0) LOOP
		bar := CASE WHEN top > 0 THEN round(width * counts[i] / top)::int ELSE 0 END;
		IF bar = 0 AND counts[i] > 0 THEN
			bar := 1;
		END IF;
		RETURN NEXT rpad(coalesce(labels[i], ''), label_width) || ' '
			|| lpad(counts[i]::text, number_width) || ' '
			|| repeat(' ', (width - bar) / 2) || repeat('█', bar) || repeat(' ', width - bar - (width - bar) / 2)
			|| CASE WHEN i = 1 OR counts[1] = 0 THEN ''
					ELSE ' ' || to_char(100.0 * counts[i] / counts[1], 'FM990.0') || '%' END;
	END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.funnel_chart(text[], numeric[], integer) IS
	'A funnel as centred text bars, one line per step: label, count, bar (width characters for the largest), share of the first step';

CREATE FUNCTION @extschema@.stage_funnel_chart(from_date date DEFAULT NULL, to_date date DEFAULT NULL,
	as_of timestamptz DEFAULT NULL, width integer DEFAULT 40)
RETURNS SETOF text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT @extschema@.funnel_chart(array_agg(f.stage::text ORDER BY f.stage),
									array_agg(f.reached::numeric ORDER BY f.stage), width)
	FROM @extschema@.stage_funnel(from_date, to_date, NULL, as_of) AS f
$$;
COMMENT ON FUNCTION @extschema@.stage_funnel_chart(date, date, timestamptz, integer) IS
	'The stage funnel of the leads created in a period as text bars (lead_gen.funnel_chart)';
