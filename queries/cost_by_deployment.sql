-- description: Deployments by cost: cost, GPU-hours, cost per GPU-hour, idle share within the allocation, requests and cost per 1,000 requests, per currency.
-- param period: billing month as YYYY-MM; NULL for every month
-- param basis: cost basis: effective (default; amortized commitments), billed or list
-- param top: the N costliest deployments per currency; NULL for every deployment
--
-- request_count counts a deployment's whole recorded life, so cost per 1k requests is given only
-- where the cost covers that life too: over every month, or in a month that holds the deployment's
-- start and all of its attributed cost; otherwise it is NULL. Ratios are rounded to 6 decimals;
-- idle_share is 1 − used ÷ allocated GPU-hours over the shares that have GPU samples.
SELECT *
FROM deployment_costs($basis, $period)
QUALIFY $top IS NULL OR row_number() OVER (PARTITION BY currency ORDER BY cost DESC NULLS LAST, deployment_id) <= $top
ORDER BY currency, cost DESC NULLS LAST, deployment_id;
