-- Text-to-value parsers shared by the billing collectors. Each returns NULL when the text is
-- not a value of its kind; the collector turns "raw text present but value NULL" into a
-- one-line error naming the file, row and column.

-- Spreadsheet-formatted amounts: "$1,234.50 " -> "1234.50". Commas only when they group
-- thousands exactly (so "1,5" stays invalid instead of meaning 15 or 1.5).
CREATE OR REPLACE TEMP MACRO finops_number_text(v) AS
    CASE
        WHEN regexp_full_match(regexp_replace(trim(v), '^([-+]?)\$', '\1'),
                               '[-+]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?')
            THEN replace(regexp_replace(trim(v), '^([-+]?)\$', '\1'), ',', '')
        ELSE regexp_replace(trim(v), '^([-+]?)\$', '\1')
    END;

-- Exact decimal at the store's scale; exponent notation (1.81E-8) accepted, NaN/Infinity not.
-- NaN/Inf are refused by their text first: DuckDB folds CAST(double AS VARCHAR) into the TRY_CAST,
-- and a NaN DOUBLE (a Parquet column) then gives a value that is neither a number nor NULL.
CREATE OR REPLACE TEMP MACRO finops_decimal(v) AS
    CASE WHEN NOT regexp_matches(v, '(?i)nan|inf') THEN coalesce(
        TRY_CAST(v AS DECIMAL(38, 18)),
        CASE WHEN regexp_full_match(finops_number_text(v), '[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?')
             THEN TRY_CAST(finops_number_text(v) AS DECIMAL(38, 18)) END
    ) END;

-- UTC instant from ISO 8601 (with or without T, Z or an offset; naive means UTC) or from
-- US-style M/D/Y dates as spreadsheets write them.
CREATE OR REPLACE TEMP MACRO finops_timestamp(v) AS
    CASE
        WHEN NOT contains(v, '/') THEN TRY_CAST(trim(v) AS TIMESTAMPTZ)
        WHEN regexp_matches(trim(v), '^[0-9]{1,2}/[0-9]{1,2}/[0-9]{2}( |$)') THEN CAST(try_strptime(trim(v),
            ['%m/%d/%y %H:%M:%S', '%m/%d/%y %H:%M', '%m/%d/%y']) AS TIMESTAMPTZ)
        ELSE CAST(try_strptime(trim(v), ['%m/%d/%Y %H:%M:%S', '%m/%d/%Y %H:%M', '%m/%d/%Y']) AS TIMESTAMPTZ)
    END;

-- A flat JSON object of tags -> MAP; non-string values keep their JSON text.
CREATE OR REPLACE TEMP MACRO finops_tags(v) AS
    CASE WHEN json_valid(v) AND json_type(v) = 'OBJECT'
         THEN json_transform(v, '"MAP(VARCHAR, VARCHAR)"') END;

-- Why a tags text is not a usable object, or NULL when it is.
CREATE OR REPLACE TEMP MACRO finops_tags_problem(v) AS
    CASE
        WHEN v IS NULL THEN NULL
        WHEN NOT json_valid(v) THEN 'is not valid JSON'
        WHEN json_type(v) <> 'OBJECT' THEN 'must be a JSON object of key/value pairs'
        WHEN json_transform(v, '"MAP(VARCHAR, VARCHAR)"') IS NULL THEN 'has the same key twice'
    END;

-- finops's short provider code from any of the names exporters use.
CREATE OR REPLACE TEMP MACRO finops_provider_code(name) AS
    CASE lower(trim(name))
        WHEN 'aws' THEN 'aws'
        WHEN 'amazon web services' THEN 'aws'
        WHEN 'amazon web services, inc.' THEN 'aws'
        WHEN 'microsoft' THEN 'azure'
        WHEN 'microsoft azure' THEN 'azure'
        WHEN 'azure' THEN 'azure'
        WHEN 'google' THEN 'gcp'
        WHEN 'google cloud' THEN 'gcp'
        WHEN 'google cloud platform' THEN 'gcp'
        WHEN 'gcp' THEN 'gcp'
        WHEN 'oracle' THEN 'oci'
        WHEN 'oracle cloud infrastructure' THEN 'oci'
        WHEN 'oci' THEN 'oci'
        ELSE lower(trim(name))
    END;
