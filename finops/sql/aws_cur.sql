-- AWS CUR rows (legacy CSV/Parquet and CUR 2.0, every field as text under its snake_case name, tags
-- as `_tags`, the row's place in the file as `_row`) -> the store's FOCUS columns plus `_problem` and
-- `_row`, one row per CUR row in file order (so a problem's row number is the file's). `_cur_raw` is replaced by the file's reader; the variables
-- finops_aws_gpu_count / finops_aws_gpu_model map an instance type to its GPUs (a join would reorder rows).
--
-- Costs: BilledCost is the unblended (net when exported) cost, what the invoice says. EffectiveCost is
-- AWS's amortised cost: covered usage at its Savings Plan / RI effective cost, negations and upfront
-- fees 0, other lines their billed cost. A Savings Plan recurring fee or RI fee keeps its billed cost
-- as a Purchase with EffectiveCost 0, and the commitment it left unused (TotalCommitmentToDate -
-- UsedCommitment; unused amortised upfront + unused recurring fee) is `_unused`; aws_cur_unused.sql
-- turns it into one more row: Usage, Committed, Unused, as FOCUS models it. Σ EffectiveCost of a
-- month is then AWS's amortised total.
WITH raw AS (
    SELECT
        *,
        line_item_line_item_type AS _type,
        finops_decimal(line_item_unblended_cost) AS _unblended,
        coalesce(finops_decimal(line_item_net_unblended_cost), finops_decimal(line_item_unblended_cost)) AS _billed,
        coalesce(
            finops_decimal(savings_plan_net_savings_plan_effective_cost),
            finops_decimal(savings_plan_savings_plan_effective_cost)
        ) AS _sp_effective,
        coalesce(finops_decimal(reservation_net_effective_cost), finops_decimal(reservation_effective_cost))
            AS _ri_effective,
        nullif(savings_plan_savings_plan_a_r_n, '') AS _sp_arn,
        nullif(reservation_reservation_a_r_n, '') AS _ri_arn,
        nullif(regexp_extract(
            line_item_usage_type,
            '(?:^|-)(?:BoxUsage|SpotUsage|DedicatedUsage|HostUsage|Train|Host|Notebk|Processing|AsyncInf|Transform):(.+)$',
            1
        ), '') AS _usage_instance
    FROM _cur_raw
),

amortised AS (
    SELECT
        *,
        CASE _type
            WHEN 'DiscountedUsage' THEN _ri_effective
            WHEN 'SavingsPlanCoveredUsage' THEN _sp_effective
            WHEN 'SavingsPlanNegation' THEN 0
            WHEN 'SavingsPlanUpfrontFee' THEN 0
            WHEN 'SavingsPlanRecurringFee' THEN 0
            WHEN 'RIFee' THEN 0
            WHEN 'Fee' THEN CASE WHEN _ri_arn IS NOT NULL THEN 0 ELSE _billed END
            ELSE _billed
        END AS _effective,
        CASE _type
            WHEN 'SavingsPlanRecurringFee' THEN
                finops_decimal(savings_plan_total_commitment_to_date) - finops_decimal(savings_plan_used_commitment)
            WHEN 'RIFee' THEN
                coalesce(
                    finops_decimal(reservation_net_unused_amortized_upfront_fee_for_billing_period),
                    finops_decimal(reservation_unused_amortized_upfront_fee_for_billing_period),
                    0
                ) + coalesce(
                    finops_decimal(reservation_net_unused_recurring_fee),
                    finops_decimal(reservation_unused_recurring_fee),
                    0
                )
            ELSE 0
        END AS _unused,
        CASE
            WHEN _type IN ('SavingsPlanCoveredUsage', 'SavingsPlanNegation', 'SavingsPlanUpfrontFee',
                           'SavingsPlanRecurringFee') THEN 'sp'
            WHEN _type IN ('DiscountedUsage', 'RIFee') OR (_type = 'Fee' AND _ri_arn IS NOT NULL) THEN 'ri'
        END AS _commitment,
        lower(coalesce(nullif(product_instance_type, ''), _usage_instance)) AS _instance
    FROM raw
),

mapped AS (
    SELECT
        *,
        finops_timestamp(bill_billing_period_start_date) AS _period_start,
        finops_timestamp(line_item_usage_start_date) AS _charge_start,
        getvariable('finops_aws_gpu_count')[regexp_replace(_instance, '^ml\.', '')] AS _catalog_gpus,
        getvariable('finops_aws_gpu_model')[regexp_replace(_instance, '^ml\.', '')] AS _catalog_model
    FROM amortised
)

SELECT
    line_item_availability_zone AS AvailabilityZone,
    _billed AS BilledCost,
    bill_payer_account_id AS BillingAccountId,
    bill_payer_account_name AS BillingAccountName,
    CAST(NULL AS VARCHAR) AS BillingAccountType,
    upper(trim(line_item_currency_code)) AS BillingCurrency,
    finops_timestamp(bill_billing_period_end_date) AS BillingPeriodEnd,
    _period_start AS BillingPeriodStart,
    CAST(NULL AS VARCHAR) AS CapacityReservationId,
    CAST(NULL AS VARCHAR) AS CapacityReservationStatus,
    CASE
        WHEN _type IN ('Fee', 'RIFee', 'SavingsPlanUpfrontFee', 'SavingsPlanRecurringFee') THEN 'Purchase'
        WHEN _type = 'Tax' THEN 'Tax'
        WHEN _type IN ('Credit', 'Refund') THEN 'Credit'
        ELSE 'Usage'
    END AS ChargeCategory,
    CASE WHEN _charge_start < _period_start THEN 'Correction' END AS ChargeClass,
    line_item_line_item_description AS ChargeDescription,
    CASE
        WHEN _type IN ('RIFee', 'SavingsPlanRecurringFee', 'Tax') THEN 'Recurring'
        WHEN _type IN ('Fee', 'SavingsPlanUpfrontFee', 'Credit', 'Refund') THEN 'One-Time'
        ELSE 'Usage-Based'
    END AS ChargeFrequency,
    finops_timestamp(line_item_usage_end_date) AS ChargePeriodEnd,
    _charge_start AS ChargePeriodStart,
    CASE _commitment WHEN 'sp' THEN 'Spend' WHEN 'ri' THEN 'Usage' END AS CommitmentDiscountCategory,
    CASE _commitment WHEN 'sp' THEN _sp_arn WHEN 'ri' THEN _ri_arn END AS CommitmentDiscountId,
    CAST(NULL AS VARCHAR) AS CommitmentDiscountName,
    CAST(NULL AS DECIMAL(38, 18)) AS CommitmentDiscountQuantity,
    CASE
        WHEN _type IN ('SavingsPlanCoveredUsage', 'DiscountedUsage') THEN 'Used'
    END AS CommitmentDiscountStatus,
    CASE _commitment WHEN 'sp' THEN 'Savings Plan' WHEN 'ri' THEN 'Reserved Instance' END AS CommitmentDiscountType,
    CAST(NULL AS VARCHAR) AS CommitmentDiscountUnit,
    CASE WHEN _type IN ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage')
        THEN finops_decimal(line_item_usage_amount) END AS ConsumedQuantity,
    CASE WHEN _type IN ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage')
        THEN pricing_unit END AS ConsumedUnit,
    _unblended AS ContractedCost,
    finops_decimal(line_item_unblended_rate) AS ContractedUnitPrice,
    _effective AS EffectiveCost,
    bill_invoice_id AS InvoiceId,
    bill_invoicing_entity AS InvoiceIssuerName,
    coalesce(
        finops_decimal(pricing_public_on_demand_cost),
        finops_decimal(pricing_public_on_demand_rate) * finops_decimal(line_item_usage_amount)
    ) AS ListCost,
    finops_decimal(pricing_public_on_demand_rate) AS ListUnitPrice,
    CASE
        WHEN _type IN ('SavingsPlanCoveredUsage', 'DiscountedUsage') THEN 'Committed'
        WHEN _type <> 'Usage' THEN NULL
        WHEN line_item_usage_type LIKE '%SpotUsage%' THEN 'Dynamic'
        ELSE 'Standard'
    END AS PricingCategory,
    CAST(NULL AS VARCHAR) AS PricingCurrency,
    CAST(NULL AS DECIMAL(38, 18)) AS PricingCurrencyContractedUnitPrice,
    CAST(NULL AS DECIMAL(38, 18)) AS PricingCurrencyEffectiveCost,
    CAST(NULL AS DECIMAL(38, 18)) AS PricingCurrencyListUnitPrice,
    finops_decimal(line_item_usage_amount) AS PricingQuantity,
    pricing_unit AS PricingUnit,
    'AWS' AS ProviderName,
    coalesce(bill_billing_entity, 'AWS') AS PublisherName,
    product_region_code AS RegionId,
    product_location AS RegionName,
    nullif(line_item_resource_id, '') AS ResourceId,
    CAST(NULL AS VARCHAR) AS ResourceName,
    CAST(NULL AS VARCHAR) AS ResourceType,
    CASE
        WHEN line_item_product_code IN ('AmazonEC2', 'AWSLambda', 'AmazonECS', 'AmazonEKS', 'AWSBatch',
                                        'ComputeSavingsPlans') THEN 'Compute'
        WHEN line_item_product_code IN ('AmazonSageMaker', 'AmazonBedrock', 'AmazonRekognition',
                                        'AmazonComprehend') THEN 'AI and Machine Learning'
        WHEN line_item_product_code IN ('AmazonS3', 'AmazonEFS', 'AmazonFSx', 'AmazonGlacier', 'AWSBackup')
            THEN 'Storage'
        WHEN line_item_product_code IN ('AWSDataTransfer', 'AmazonCloudFront', 'AmazonVPC', 'AmazonRoute53')
            THEN 'Networking'
        WHEN line_item_product_code IN ('AmazonRDS', 'AmazonDynamoDB', 'AmazonRedshift', 'AmazonElastiCache')
            THEN 'Databases'
        WHEN line_item_product_code IN ('awskms', 'AWSSecretsManager', 'AWSCloudTrail', 'AmazonGuardDuty')
            THEN 'Security'
        WHEN line_item_product_code IN ('AmazonCloudWatch', 'AWSConfig') THEN 'Management and Governance'
        ELSE 'Other'
    END AS ServiceCategory,
    coalesce(nullif(product_product_name, ''), line_item_product_code) AS ServiceName,
    CAST(NULL AS VARCHAR) AS ServiceSubcategory,
    product_sku AS SkuId,
    CAST(NULL AS VARCHAR) AS SkuMeter,
    CAST(NULL AS JSON) AS SkuPriceDetails,
    CAST(NULL AS VARCHAR) AS SkuPriceId,
    line_item_usage_account_id AS SubAccountId,
    line_item_usage_account_name AS SubAccountName,
    CAST(NULL AS VARCHAR) AS SubAccountType,
    CASE WHEN cardinality(_tags) > 0 THEN _tags END AS Tags,
    CAST(NULL AS JSON) AS AllocatedMethodDetails,
    CAST(NULL AS VARCHAR) AS AllocatedMethodId,
    CAST(NULL AS VARCHAR) AS AllocatedResourceId,
    CAST(NULL AS VARCHAR) AS AllocatedResourceName,
    CAST(NULL AS MAP(VARCHAR, VARCHAR)) AS AllocatedTags,
    CAST(NULL AS JSON) AS ContractApplied,
    CAST(NULL AS VARCHAR) AS HostProviderName,
    CAST(NULL AS VARCHAR) AS ServiceProviderName,
    CAST(NULL AS JSON) AS CommitmentProgramEligibilityDetails,
    CAST(NULL AS VARCHAR) AS InvoiceDetailId,
    'aws' AS x_Provider,
    line_item_product_code AS x_ServiceCode,
    line_item_usage_type AS x_UsageType,
    line_item_operation AS x_Operation,
    _type AS x_LineItemType,
    _instance AS x_InstanceType,
    _catalog_model AS x_GpuModel,
    coalesce(_catalog_gpus, nullif(finops_decimal(product_gpu), 0)) AS x_GpuCount,
    CAST(NULL AS MAP(VARCHAR, VARCHAR)) AS x_Extras,
    _unused,
    _row,
    coalesce(
        CASE WHEN line_item_unblended_cost IS NOT NULL AND _unblended IS NULL
            THEN 'line_item_unblended_cost: ''' || left(line_item_unblended_cost, 80) || ''' is not a number' END,
        CASE WHEN _billed IS NULL THEN 'line_item_unblended_cost is empty; every CUR row has a cost' END,
        CASE WHEN _type IS NULL THEN 'line_item_line_item_type is empty; every CUR row has a line item type' END,
        CASE WHEN _period_start IS NULL
            THEN 'bill_billing_period_start_date: ''' || coalesce(bill_billing_period_start_date, '')
                 || ''' is not a date-time' END,
        CASE WHEN finops_timestamp(bill_billing_period_end_date) IS NULL
            THEN 'bill_billing_period_end_date: ''' || coalesce(bill_billing_period_end_date, '')
                 || ''' is not a date-time' END,
        CASE WHEN _charge_start IS NULL
            THEN 'line_item_usage_start_date: ''' || coalesce(line_item_usage_start_date, '')
                 || ''' is not a date-time' END,
        CASE WHEN finops_timestamp(line_item_usage_end_date) IS NULL
            THEN 'line_item_usage_end_date: ''' || coalesce(line_item_usage_end_date, '')
                 || ''' is not a date-time' END,
        CASE WHEN line_item_currency_code IS NULL THEN 'line_item_currency_code is empty' END,
        CASE WHEN _effective IS NULL AND _type = 'SavingsPlanCoveredUsage'
            THEN 'savings_plan_savings_plan_effective_cost is empty on a SavingsPlanCoveredUsage row; '
                 || 'export the report with its Savings Plan columns' END,
        CASE WHEN _effective IS NULL AND _type = 'DiscountedUsage'
            THEN 'reservation_effective_cost is empty on a DiscountedUsage row; '
                 || 'export the report with its reservation columns' END,
        CASE WHEN _unused IS NULL
            THEN 'savings_plan_total_commitment_to_date or savings_plan_used_commitment is empty on a '
                 || 'SavingsPlanRecurringFee row; export the report with its Savings Plan columns' END
    ) AS _problem
FROM mapped
