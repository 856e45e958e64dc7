-- The trigger a competent user would write without lead_gen: per row, look
-- up the kind's points and fold them into the lead's decaying engagement
-- with the same UPDATE lead_gen's trigger runs (no daily caps).
CREATE OR REPLACE FUNCTION bench.plpgsql_activity_scored() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	p float8;
BEGIN
	SELECT points INTO p FROM lead_gen.scoring_rule WHERE kind = NEW.kind;
	IF p IS NOT NULL AND p <> 0 THEN
		UPDATE lead_gen.lead
		SET engagement = lead_gen.engagement_combine(engagement,
				lead_gen.engagement(p, NEW.occurred_at, (SELECT half_life FROM lead_gen.scoring_settings)))
		WHERE lead_id = NEW.lead_id;
	END IF;
	RETURN NULL;
END $$;
