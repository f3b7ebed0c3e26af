-- description: Cost per 1,000 requests of each deployment with a known request count, per currency, dearest first.
-- param period: billing month as YYYY-MM; NULL for every month
-- param basis: cost basis: effective (default; amortized commitments), billed or list
--
-- request_count counts a deployment's whole recorded life, so the ratio is given only where the
-- cost covers that life too: over every month, or in a month that holds the deployment's start and
-- all of its attributed cost; otherwise cost_per_1k_requests is NULL (the deployment is still
-- listed). Rounded to 6 decimals.
SELECT deployment_id, name, team, source, currency, cost, requests, cost_per_1k_requests
FROM deployment_costs($basis, $period)
-- only recorded deployments have a request count
WHERE requests > 0
ORDER BY currency, cost_per_1k_requests DESC NULLS LAST, deployment_id;
