-- 0007: a cost on the chosen basis as one scalar macro, so every query states the basis rule once:
-- basis_cost($basis, BilledCost, EffectiveCost, ListCost). NULL basis means effective (amortized).
CREATE MACRO basis_cost(basis, billed_amount, effective_amount, list_amount) AS
    CASE coalesce(basis, 'effective')
        WHEN 'effective' THEN effective_amount
        WHEN 'billed' THEN billed_amount
        WHEN 'list' THEN list_amount
        ELSE error('basis must be effective, billed or list, not ' || basis)
    END;
