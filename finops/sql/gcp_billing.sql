-- The Cloud Billing export (the flat rows of finops/collect/gcp_export.py, read from {rows}) as FOCUS
-- Cost and Usage rows: one store row per export row, in file order; `_problem` names a row's first bad value.
-- Parameters: $months (invoice months YYYYMM to keep; NULL keeps every month).
--
-- Money: BilledCost = cost + Σ credits.amount (credits are negative); ContractedCost = cost (before
-- credits); EffectiveCost = BilledCost, then commitment fees are amortised onto the usage they covered
-- (gcp_amortise.sql); ListCost = cost_at_list where the export has it (finops fills the rest from cached
-- Cloud Catalog prices, else ContractedCost, after staging).
-- ChargeCategory: cost_type regular -> Usage, tax -> Tax, adjustment / rounding error -> Adjustment;
-- a regular row of cost 0 that only carries credits -> Credit; a commitment fee SKU -> Purchase.
WITH parsed AS (
    SELECT
        *,
        finops_decimal(cost) AS _cost,
        list_transform(
            coalesce(credits, []),
            lambda c: {
                'type': coalesce(nullif(trim(c.type), ''), c.name, 'CREDIT'),
                'id': coalesce(c.id, c.full_name, c.name),
                'name': coalesce(c.full_name, c.name),
                'raw': c.amount,
                'amount': finops_decimal(c.amount)
            }
        ) AS _credits,
        finops_timestamp(usage_start_time) AS _start,
        finops_timestamp(usage_end_time) AS _end,
        CASE WHEN regexp_full_match(trim(invoice_month), '[0-9]{4}(0[1-9]|1[0-2])')
            THEN make_timestamptz(CAST(left(trim(invoice_month), 4) AS INTEGER),
                                  CAST(right(trim(invoice_month), 2) AS INTEGER), 1, 0, 0, 0.0, 'UTC')
        END AS _period,
        lower(trim(replace(coalesce(cost_type, 'regular'), '_', ' '))) AS _cost_type,
        starts_with(lower(coalesce(sku_description, '')), 'commitment') AS _is_fee,
        -- A GPU SKU names its model: 'Nvidia Tesla A100 GPU running in Americas', 'Nvidia H100 80GB GPU ...'.
        nullif(regexp_extract(
            sku_description,
            '(?i)\b(A100 80GB|RTX PRO 6000|H200|H100|GB200|B200|A100|L4|T4|V100|P100|P4|K80)\b[^,]*\bGPU\b', 1
        ), '') AS _sku_gpu,
        list_filter(coalesce(system_labels, []), lambda e: e.key = 'compute.googleapis.com/machine_spec')[1].value
            AS _machine
    FROM {rows}
    WHERE CAST($months AS VARCHAR[]) IS NULL OR list_contains(CAST($months AS VARCHAR[]), trim(invoice_month))
),

costed AS (
    SELECT
        *,
        CAST(_cost + coalesce(list_sum(list_transform(_credits, lambda c: c.amount)), 0) AS DECIMAL(38, 18))
            AS _billed,
        _cost = 0 AND len(_credits) > 0 AND _cost_type = 'regular' AS _is_credit,
        list_filter(_credits, lambda c: starts_with(upper(c.type), 'COMMITTED_USAGE_DISCOUNT'))[1] AS _cud,
        list_concat(coalesce(labels, []), coalesce(system_labels, []), coalesce(project_labels, [])) AS _tags
    FROM parsed
),

mapped AS (
    SELECT
        *,
        CASE
            WHEN _is_credit THEN 'Credit'
            WHEN _cost_type = 'tax' THEN 'Tax'
            WHEN _cost_type IN ('adjustment', 'rounding error', 'credit') THEN 'Adjustment'
            WHEN _is_fee THEN 'Purchase'
            ELSE 'Usage'
        END AS _category
    FROM costed
)

SELECT
    location_zone AS AvailabilityZone,
    _billed AS BilledCost,
    billing_account_id AS BillingAccountId,
    upper(trim(currency)) AS BillingCurrency,
    _period + INTERVAL 1 MONTH AS BillingPeriodEnd,
    _period AS BillingPeriodStart,
    _category AS ChargeCategory,
    sku_description AS ChargeDescription,
    CASE _category
        WHEN 'Usage' THEN 'Usage-Based'
        WHEN 'Purchase' THEN 'Recurring'
        WHEN 'Tax' THEN 'Recurring'
        ELSE 'One-Time'
    END AS ChargeFrequency,
    coalesce(_end, _start) AS ChargePeriodEnd,
    _start AS ChargePeriodStart,
    CASE
        WHEN _is_fee THEN CASE WHEN contains(lower(sku_description), 'dollar based') THEN 'Spend' ELSE 'Usage' END
        WHEN _cud IS NOT NULL THEN CASE WHEN ends_with(upper(_cud.type), 'DOLLAR_BASE') THEN 'Spend' ELSE 'Usage' END
    END AS CommitmentDiscountCategory,
    CASE
        WHEN _is_fee THEN coalesce(resource_global_name, resource_name, sku_id)
        ELSE _cud.id
    END AS CommitmentDiscountId,
    CASE WHEN _is_fee THEN sku_description ELSE _cud.name END AS CommitmentDiscountName,
    CASE WHEN _cud IS NOT NULL AND NOT _is_fee THEN 'Used' END AS CommitmentDiscountStatus,
    CASE WHEN _is_fee OR _cud IS NOT NULL THEN 'Committed Use Discount' END AS CommitmentDiscountType,
    finops_decimal(usage_amount) AS ConsumedQuantity,
    usage_unit AS ConsumedUnit,
    _cost AS ContractedCost,
    _billed AS EffectiveCost,
    'Google' AS InvoiceIssuerName,
    CASE WHEN _is_credit THEN _billed ELSE finops_decimal(cost_at_list) END AS ListCost,
    CASE
        WHEN _category <> 'Usage' THEN NULL
        WHEN _cud IS NOT NULL THEN 'Committed'
        WHEN contains(lower(sku_description), 'preemptible') OR contains(lower(sku_description), 'spot') THEN 'Dynamic'
        ELSE 'Standard'
    END AS PricingCategory,
    finops_decimal(usage_amount_in_pricing_units) AS PricingQuantity,
    usage_pricing_unit AS PricingUnit,
    'Google Cloud' AS ProviderName,
    coalesce(seller_name, 'Google Cloud') AS PublisherName,
    coalesce(location_region, location_location) AS RegionId,
    coalesce(resource_global_name, resource_name) AS ResourceId,
    resource_name AS ResourceName,
    CASE
        WHEN regexp_matches(resource_global_name, '^//compute\.googleapis\.com/.*/instances/') THEN 'Virtual Machine'
        WHEN regexp_matches(resource_global_name, '^//compute\.googleapis\.com/.*/disks/') THEN 'Disk'
        WHEN regexp_matches(resource_global_name, '^//aiplatform\.googleapis\.com/.*/customJobs/') THEN 'Custom Job'
        WHEN regexp_matches(resource_global_name, '^//aiplatform\.googleapis\.com/.*/endpoints/') THEN 'Endpoint'
        WHEN regexp_matches(resource_global_name, '^//storage\.googleapis\.com/.*/buckets/') THEN 'Bucket'
        WHEN regexp_matches(resource_global_name, '^//container\.googleapis\.com/.*/clusters/') THEN 'Cluster'
    END AS ResourceType,
    CASE service_description
        WHEN 'Compute Engine' THEN 'Compute'
        WHEN 'Kubernetes Engine' THEN 'Compute'
        WHEN 'Vertex AI' THEN 'AI and Machine Learning'
        WHEN 'Cloud TPU' THEN 'AI and Machine Learning'
        WHEN 'Cloud Storage' THEN 'Storage'
        WHEN 'Networking' THEN 'Networking'
        WHEN 'BigQuery' THEN 'Analytics'
        WHEN 'Invoice' THEN 'Other'
        WHEN 'Tax' THEN 'Other'
    END AS ServiceCategory,
    service_description AS ServiceName,
    sku_id AS SkuId,
    sku_id AS SkuPriceId,
    project_id AS SubAccountId,
    project_name AS SubAccountName,
    -- Resource labels win over system labels, which win over the project's labels (inherited).
    CASE WHEN len(_tags) > 0 THEN map_from_entries(list_filter(
        _tags, lambda e, i: list_position(list_transform(_tags, lambda x: x.key), e.key) = i
    )) END AS Tags,
    'gcp' AS x_Provider,
    service_id AS x_ServiceCode,
    cost_type AS x_LineItemType,
    _machine AS x_InstanceType,
    CASE WHEN NOT _is_fee THEN _sku_gpu END AS x_GpuModel,
    CASE WHEN _category = 'Usage' AND _sku_gpu IS NOT NULL AND lower(usage_unit) = 'seconds' AND _end > _start
        THEN CAST(round(CAST(finops_decimal(usage_amount) AS DOUBLE) / date_diff('second', _start, _end), 6)
                  AS DECIMAL(38, 18))
    END AS x_GpuCount,
    -- Credit totals by type (credit:COMMITTED_USAGE_DISCOUNT = -5.1), adjustment details, project number.
    CASE WHEN len(_extras) > 0 THEN map_from_entries(_extras) END AS x_Extras,
    coalesce(
        CASE WHEN billing_account_id IS NULL THEN 'billing_account_id is empty' END,
        CASE WHEN invoice_month IS NULL THEN 'invoice.month is empty' END,
        CASE WHEN _period IS NULL THEN 'invoice.month: ''' || left(invoice_month, 40) || ''' is not a month like 202501' END,
        CASE WHEN cost IS NULL THEN 'cost is empty' END,
        CASE WHEN _cost IS NULL THEN 'cost: ''' || left(cost, 40) || ''' is not a number' END,
        CASE WHEN len(list_filter(_credits, lambda c: c.amount IS NULL)) > 0
            THEN 'credits.amount: ''' || coalesce(list_filter(_credits, lambda c: c.amount IS NULL)[1].raw, 'null')
                 || ''' is not a number' END,
        CASE WHEN currency IS NULL OR NOT regexp_full_match(upper(trim(currency)), '[A-Z]{3}')
            THEN 'currency: ''' || coalesce(currency, '') || ''' is not an ISO 4217 code such as USD' END,
        CASE WHEN _start IS NULL THEN 'usage_start_time: ''' || coalesce(usage_start_time, '') || ''' is not a time' END,
        CASE WHEN usage_end_time IS NOT NULL AND _end IS NULL
            THEN 'usage_end_time: ''' || usage_end_time || ''' is not a time' END,
        CASE WHEN _end < _start THEN 'usage_end_time is before usage_start_time' END
    ) AS _problem
FROM (
    SELECT
        *,
        list_filter([
            {'k': 'project_number', 'v': project_number},
            {'k': 'adjustment_id', 'v': adjustment_info_id},
            {'k': 'adjustment_description', 'v': adjustment_info_description},
            {'k': 'adjustment_type', 'v': adjustment_info_type}
        ], lambda e: e.v IS NOT NULL) || list_transform(
            list_sort(list_distinct(list_transform(_credits, lambda c: c.type))),
            lambda t: {
                'k': 'credit:' || t,
                'v': regexp_replace(regexp_replace(CAST(
                    list_sum(list_transform(list_filter(_credits, lambda c: c.type = t), lambda c: c.amount))
                    AS VARCHAR), '(\.[0-9]*?)0+$', '\1'), '\.$', '')
            }
        ) AS _extras
    FROM mapped
)
