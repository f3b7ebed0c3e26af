-- description: What the store holds: rows, Σ BilledCost and Σ EffectiveCost per provider, billing period, source and currency, with the last load time.
-- param period: billing month as YYYY-MM; NULL for every month
SELECT
    coalesce(li.ProviderName, li.x_Provider, '(unknown)') AS provider,
    strftime(li.BillingPeriodStart, '%Y-%m') AS billing_period,
    b.source,
    li.BillingCurrency AS currency,
    count(*) AS rows,
    sum(li.BilledCost) AS billed_cost,
    sum(li.EffectiveCost) AS effective_cost,
    count(DISTINCT li.BillingAccountId) AS billing_accounts,
    max(b.loaded_at) AS last_loaded_at,
    max(b.last_seen_at) AS last_checked_at
FROM cost_line_items AS li
JOIN ingest_batches AS b ON b.batch_id = li.x_BatchId
WHERE $period IS NULL OR strftime(li.BillingPeriodStart, '%Y-%m') = $period
GROUP BY ALL
ORDER BY billing_period, provider, source, currency;
