-- :leads synthetic leads with realistic firmographics (no activity).
SELECT setseed(0.5) \gset
INSERT INTO lead_gen.lead (email, job_title, seniority, decision_maker, company_name, industry,
						   employees, annual_revenue, country, city, source_channel, consent, attributes)
SELECT 'lead' || g || '@' || (ARRAY['acme', 'globex', 'initech', 'competitor', 'umbrella', 'hooli'])[1 + g % 6] || '.example',
	   (ARRAY['VP Sales', 'Marketing Manager', 'Head of Growth', 'Data Analyst', 'CEO', 'Intern',
			  'Director of IT', 'Chief Revenue Officer', 'Account Executive', 'Founder'])[1 + (g * 7) % 10],
	   (ARRAY['vp', 'manager', 'director', 'mid', 'c_level', 'intern', 'director', 'c_level', 'mid', 'owner'])[1 + (g * 7) % 10],
	   (g * 7) % 10 IN (0, 2, 4, 6, 7, 9),
	   'Company ' || (g % 50000),
	   (ARRAY['saas', 'fintech', 'healthcare', 'retail', 'manufacturing', 'education', 'media', 'logistics'])[1 + (g * 13) % 8],
	   (ARRAY[3, 12, 45, 80, 250, 900, 3000, 12000])[1 + (g * 17) % 8],
	   ((g * 31) % 1000) * 100000,
	   (ARRAY['US', 'CA', 'GB', 'DE', 'FR', 'NL', 'IN', 'BR', 'JP', 'AU'])[1 + (g * 19) % 10],
	   'City ' || (g % 300),
	   (ARRAY['content', 'social', 'search', 'email', 'paid', 'event', 'referral', 'landing_page'])[1 + g % 8],
	   'subscribed',
	   jsonb_build_object('tech_stack', (ARRAY['salesforce', 'hubspot', 'pipedrive', 'zoho', 'none'])[1 + (g * 23) % 5],
						  'pain_points', (ARRAY['["reporting"]', '["data quality"]', '["scoring", "attribution"]',
												'[]'])[1 + (g * 29) % 4]::jsonb)
FROM generate_series(1, :leads) AS g;
ANALYZE lead_gen.lead;
