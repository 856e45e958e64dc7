-- :activities activities over the past year for the :leads leads, loaded
-- with the scoring triggers off and then scored by recompute_all().
ALTER TABLE lead_gen.activity DISABLE TRIGGER activity_scored;
INSERT INTO lead_gen.activity (lead_id, kind, occurred_at)
SELECT 1 + (g * 7919) % :leads,
	   (ARRAY['page_view', 'page_view', 'page_view', 'page_view', 'email_open', 'email_open',
			  'email_click', 'content_download', 'webinar', 'newsletter_signup', 'pricing_inquiry',
			  'demo_request', 'unsubscribe', 'bounce', 'call', 'meeting'])[1 + (g * 31) % 16],
	   now() - interval '1 minute' - ((g * 104729) % 31536000) * interval '1 second'
FROM generate_series(1::bigint, :activities) AS g;
ALTER TABLE lead_gen.activity ENABLE TRIGGER activity_scored;
ANALYZE lead_gen.activity;
CALL lead_gen.recompute_all(10000);
ANALYZE lead_gen.lead;
