-- Committed use discount amortisation over the load's pending GCP rows (_pending, x_BatchId {batch}): each hour's commitment fees
-- (Purchase rows of a billing account, invoice month, region and commitment category) are spread over
-- that hour's usage rows whose CUD credits the commitment paid for, in proportion to those credits.
-- A covered usage row's EffectiveCost = its BilledCost + its share of the fee; the fee rows keep only what
-- could not be spread (nothing, unless no usage was covered: an unused commitment keeps its whole fee).
-- Shares are exact at 1e-12 (largest remainder), so Σ EffectiveCost = Σ BilledCost in every group.
CREATE OR REPLACE TEMP TABLE _gcp_amortised AS
WITH fees AS (
    SELECT
        BillingAccountId AS account, BillingPeriodStart AS period, ChargePeriodStart AS hour, RegionId AS region,
        CommitmentDiscountCategory AS category,
        CAST(trunc(sum(BilledCost) * 1000000000000) AS HUGEINT) AS fee_units,
        min(_rowid) AS first_fee_row
    FROM _pending
    WHERE x_Provider = 'gcp' AND ChargeCategory = 'Purchase' AND CommitmentDiscountCategory IS NOT NULL
    GROUP BY ALL
    HAVING sum(BilledCost) > 0
),

covered AS (
    SELECT
        s._rowid, f.account, f.period, f.hour, f.region, f.category, f.fee_units,
        CAST(trunc(abs(CAST(s.x_Extras[
            CASE f.category WHEN 'Spend' THEN 'credit:COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE'
                            ELSE 'credit:COMMITTED_USAGE_DISCOUNT' END
        ] AS DECIMAL(38, 18))) * 1000000000000) AS HUGEINT) AS weight
    FROM _pending AS s
    JOIN fees AS f
        ON s.BillingAccountId = f.account AND s.BillingPeriodStart = f.period AND s.ChargePeriodStart = f.hour
        AND s.RegionId IS NOT DISTINCT FROM f.region AND s.CommitmentDiscountCategory = f.category
    WHERE s.x_Provider = 'gcp' AND s.ChargeCategory = 'Usage' AND s.CommitmentDiscountStatus = 'Used'
),

weighted AS (
    SELECT
        *,
        fee_units * weight // sum(weight) OVER g AS floor_units,
        fee_units * weight % sum(weight) OVER g AS remainder
    FROM covered
    WHERE weight > 0
    WINDOW g AS (PARTITION BY account, period, hour, region, category)
),

shares AS (
    SELECT
        *,
        floor_units + CASE WHEN row_number() OVER (
            PARTITION BY account, period, hour, region, category ORDER BY remainder DESC, _rowid
        ) <= fee_units - sum(floor_units) OVER (PARTITION BY account, period, hour, region, category)
        THEN 1 ELSE 0 END AS share_units
    FROM weighted
)

SELECT _rowid, CAST(CAST(share_units AS DECIMAL(38, 0)) * CAST(0.000000000001 AS DECIMAL(13, 12)) AS DECIMAL(38, 18))
    AS delta
FROM shares
UNION ALL
-- Each group's fee rows give up what was spread: all of it from the first fee row, the rest drop to 0.
SELECT s._rowid,
       CASE WHEN s._rowid = f.first_fee_row
            THEN CAST(CAST(-spread.units AS DECIMAL(38, 0)) * CAST(0.000000000001 AS DECIMAL(13, 12)) AS DECIMAL(38, 18))
                 + (sum(s.BilledCost) OVER (PARTITION BY f.account, f.period, f.hour, f.region, f.category) - s.BilledCost)
            ELSE -s.BilledCost
       END
FROM _pending AS s
JOIN fees AS f
    ON s.BillingAccountId = f.account AND s.BillingPeriodStart = f.period AND s.ChargePeriodStart = f.hour
    AND s.RegionId IS NOT DISTINCT FROM f.region AND s.CommitmentDiscountCategory = f.category
JOIN (SELECT account, period, hour, region, category, sum(share_units) AS units FROM shares GROUP BY ALL) AS spread
    USING (account, period, hour, region, category)
WHERE s.x_Provider = 'gcp' AND s.ChargeCategory = 'Purchase';

UPDATE cost_line_items SET EffectiveCost = EffectiveCost + a.delta FROM _gcp_amortised AS a
WHERE cost_line_items.x_BatchId = {batch} AND cost_line_items.rowid = a._rowid;

DROP TABLE _gcp_amortised;
