-- One round of the scoring comparison (scoring_compare.sql runs three).
CALL bench.make_due(100);
SELECT clock_timestamp() AS t0 \gset
CALL lead_gen.rescore();
INSERT INTO times SELECT 'rescore', extract(epoch FROM clock_timestamp() - :'t0');
SELECT clock_timestamp() AS t0 \gset
CALL bench.plain_recompute();
INSERT INTO times SELECT 'plain', extract(epoch FROM clock_timestamp() - :'t0');
SELECT clock_timestamp() AS t0 \gset
CALL lead_gen.recompute_all(10000);
INSERT INTO times SELECT 'recompute_all', extract(epoch FROM clock_timestamp() - :'t0');
SELECT clock_timestamp() AS t0 \gset
CALL bench.plain_recompute_capped();
INSERT INTO times SELECT 'plain_capped', extract(epoch FROM clock_timestamp() - :'t0');
-- the same scores as lead_gen's engagement gives at that moment
INSERT INTO capped_differs
SELECT count(*) FILTER (WHERE abs(l.score - lead_gen.lead_score(l, l.scored_at)) > 1e-6 * greatest(1, abs(l.score)))
FROM lead_gen.lead AS l;
