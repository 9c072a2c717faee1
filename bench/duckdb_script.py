"""The other side of the comparison: a plain DuckDB SQL script doing the same layers on the
same landing files, what a user could write in an afternoon instead of this project.

    bronze   every landing file read as text, with its file name (read_csv, all_varchar)
    silver   cast, trim, upper-case, one spelling per country, rules to a quarantine with a
             reason (first failing), exact duplicates removed, flags and line value; the
             customers' type-2 history from every snapshot; the catalogue
    gold     daily_sales, customer_rfm, product_performance, cohort_retention
    checks   row accounting, keys unique, scores and rates in range, silver not null

Each layer is written to Parquet (silver and daily_sales one file per day), as the pipeline
does. What it leaves out, and the pipeline does: lineage columns beyond the file name, PII
hashing (it keeps a plain md5 of the email), encodings and malformed lines, Data Docs,
a country outside the known list kept as written instead of title-cased.
`run_duckdb(data_dir, out)` returns seconds per layer and for the checks.
"""

from __future__ import annotations

import time
from pathlib import Path

from etl_assets.transforms.standardise import COUNTRY_SPELLINGS

NON_PRODUCT = ("POST", "M", "D", "C2", "DOT", "CRUK", "PADS", "B", "S", "BANK CHARGES", "AMAZONFEE")
THREADS = 2


def _quoted(values) -> str:
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)


def _statements(landing: Path, out: Path) -> dict[str, list[str]]:
    countries = ", ".join(
        f"('{k.replace(chr(39), chr(39) * 2)}', '{v.replace(chr(39), chr(39) * 2)}')"
        for k, v in COUNTRY_SPELLINGS.items()
    )
    # bad lines (invalid UTF-8, wrong field count) are skipped: the pipeline quarantines them
    csv = (
        "all_varchar = true, filename = true, header = true, auto_detect = false, "
        "delim = ',', quote = '\"', ignore_errors = true"
    )
    orders_columns = (
        "columns = {'InvoiceNo': 'VARCHAR', 'StockCode': 'VARCHAR', 'Description': 'VARCHAR', "
        "'Quantity': 'VARCHAR', 'InvoiceDate': 'VARCHAR', 'UnitPrice': 'VARCHAR', "
        "'CustomerID': 'VARCHAR', 'Country': 'VARCHAR'}"
    )
    customers_columns = (
        "columns = {'CustomerID': 'VARCHAR', 'Email': 'VARCHAR', 'Country': 'VARCHAR'}"
    )
    products_columns = (
        "columns = {'StockCode': 'VARCHAR', 'Description': 'VARCHAR', 'Category': 'VARCHAR', "
        "'UnitPrice': 'VARCHAR'}"
    )
    day_of_file = "strptime(regexp_extract(filename, '(\\d{4}-\\d{2}-\\d{2})', 1), '%Y-%m-%d')"
    country = "coalesce(c.name, nullif(trim(regexp_replace({col}, '\\s+', ' ', 'g')), ''))"
    raw = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
           "CustomerID", "Country"]  # fmt: skip
    raw_columns = ", ".join(f"o.{c} AS raw_{c}" for c in raw)  # SQL names ignore case
    return {
        "bronze": [
            f"CREATE TABLE bronze_orders AS SELECT *, {day_of_file} AS landing_date "
            f"FROM read_csv('{landing}/orders/*.csv', {csv}, {orders_columns})",
            f"CREATE TABLE bronze_customers AS SELECT *, {day_of_file} AS landing_date "
            f"FROM read_csv('{landing}/customers/*.csv', {csv}, {customers_columns})",
            f"CREATE TABLE bronze_products AS SELECT * "
            f"FROM read_csv('{landing}/products/products.csv', {csv}, {products_columns})",
            f"COPY bronze_orders TO '{out}/bronze/orders' (FORMAT parquet, PARTITION_BY "
            "(landing_date), OVERWRITE_OR_IGNORE)",
            f"COPY bronze_customers TO '{out}/bronze/customers.parquet' (FORMAT parquet)",
            f"COPY bronze_products TO '{out}/bronze/products.parquet' (FORMAT parquet)",
        ],
        "silver": [
            f"CREATE TABLE countries(lookup VARCHAR, name VARCHAR); "
            f"INSERT INTO countries VALUES {countries}",
            # cast and standardise; the reason of the first failing rule, if any
            f"""CREATE TABLE typed_orders AS
            SELECT upper(trim(InvoiceNo)) AS invoice_no,
                   upper(trim(StockCode)) AS stock_code,
                   upper(regexp_replace(trim(Description), '\\s+', ' ', 'g')) AS description,
                   TRY_CAST(trim(Quantity) AS BIGINT) AS quantity,
                   try_strptime(trim(InvoiceDate), '%m/%d/%Y %H:%M') AS invoice_date,
                   TRY_CAST(trim(UnitPrice) AS DOUBLE) AS unit_price,
                   TRY_CAST(trim(CustomerID) AS BIGINT) AS customer_id,
                   {country.format(col="Country")} AS country,
                   RAW_COLUMNS, o.filename, o.landing_date
            FROM bronze_orders o
            LEFT JOIN countries c
              ON c.lookup = lower(trim(regexp_replace(o.Country, '\\s+', ' ', 'g')))""".replace(
                "RAW_COLUMNS", raw_columns
            ),
            """CREATE TABLE judged_orders AS
            SELECT *, CAST(invoice_date AS DATE) AS order_date,
              CASE
                WHEN nullif(invoice_no, '') IS NULL THEN 'missing_invoice_no'
                WHEN nullif(stock_code, '') IS NULL THEN 'missing_stock_code'
                WHEN nullif(trim(raw_Quantity), '') IS NULL THEN 'missing_quantity'
                WHEN quantity IS NULL THEN 'unparseable_quantity'
                WHEN nullif(trim(raw_InvoiceDate), '') IS NULL THEN 'missing_invoice_date'
                WHEN invoice_date IS NULL THEN 'unparseable_invoice_date'
                WHEN nullif(trim(raw_UnitPrice), '') IS NULL THEN 'missing_unit_price'
                WHEN unit_price IS NULL THEN 'unparseable_unit_price'
                WHEN unit_price < 0 THEN 'below_minimum_unit_price'
                WHEN nullif(trim(raw_CustomerID), '') IS NOT NULL AND customer_id IS NULL
                  THEN 'unparseable_customer_id'
                WHEN CAST(invoice_date AS DATE) NOT BETWEEN landing_date - INTERVAL 1 DAY
                  AND landing_date THEN 'date_outside_late_window'
              END AS reject_reason
            FROM typed_orders""",
            f"CREATE TABLE orders_quarantine AS SELECT {', '.join('raw_' + c for c in raw)}, "
            "filename, landing_date, reject_reason FROM judged_orders "
            "WHERE reject_reason IS NOT NULL",
            # exact duplicates: every column of the business key equal; the first line wins
            f"""CREATE TABLE silver_orders AS
            SELECT invoice_no, stock_code, description, quantity, invoice_date, unit_price,
                   customer_id, country,
                   starts_with(invoice_no, 'C') AS is_cancellation,
                   stock_code IN ({_quoted(NON_PRODUCT)}) AS is_non_product,
                   quantity * unit_price AS line_value, order_date, filename AS _source_file
            FROM judged_orders WHERE reject_reason IS NULL
            QUALIFY row_number() OVER (PARTITION BY invoice_no, stock_code, description,
                quantity, invoice_date, unit_price, customer_id, country
                ORDER BY landing_date, filename) = 1""",
            f"COPY silver_orders TO '{out}/silver/orders' (FORMAT parquet, PARTITION_BY "
            "(order_date), OVERWRITE_OR_IGNORE)",
            f"COPY orders_quarantine TO '{out}/silver/orders_quarantine.parquet' (FORMAT parquet)",
            f"""CREATE TABLE snapshots AS
            SELECT DISTINCT ON (customer_id, snapshot_date) * FROM (
              SELECT TRY_CAST(trim(CustomerID) AS BIGINT) AS customer_id,
                     md5(lower(trim(Email))) AS email_hash,
                     {country.format(col="b.Country")} AS country,
                     landing_date AS snapshot_date
              FROM bronze_customers b LEFT JOIN countries c
                ON c.lookup = lower(trim(regexp_replace(b.Country, '\\s+', ' ', 'g'))))
            WHERE customer_id IS NOT NULL""",
            # type 2: a version starts when the key is new, changed, or back after a gap
            """CREATE TABLE silver_customers AS
            WITH days AS (SELECT snapshot_date, row_number() OVER (ORDER BY snapshot_date) AS n
                          FROM (SELECT DISTINCT snapshot_date FROM snapshots)),
            rows AS (
              SELECT s.*, d.n,
                lag(d.n) OVER w AS previous_n,
                lag(email_hash) OVER w AS previous_email,
                lag(s.country) OVER w AS previous_country
              FROM snapshots s JOIN days d USING (snapshot_date)
              WINDOW w AS (PARTITION BY customer_id ORDER BY s.snapshot_date)),
            starts AS (
              SELECT *, sum(CASE WHEN previous_n IS NULL OR previous_n <> n - 1
                  OR email_hash IS DISTINCT FROM previous_email
                  OR country IS DISTINCT FROM previous_country THEN 1 ELSE 0 END)
                OVER (PARTITION BY customer_id ORDER BY snapshot_date) AS version
              FROM rows),
            versions AS (
              SELECT customer_id, version, first(email_hash ORDER BY n) AS email_hash,
                     first(country ORDER BY n) AS country, min(snapshot_date) AS valid_from,
                     max(n) AS last_n
              FROM starts GROUP BY customer_id, version)
            SELECT v.customer_id, v.email_hash, v.country, v.valid_from,
                   d.snapshot_date AS valid_to, d.snapshot_date IS NULL AS is_current
            FROM versions v LEFT JOIN days d ON d.n = v.last_n + 1
            ORDER BY customer_id, valid_from""",
            f"COPY silver_customers TO '{out}/silver/customers.parquet' (FORMAT parquet)",
            """CREATE TABLE silver_products AS
            SELECT DISTINCT ON (stock_code) upper(trim(StockCode)) AS stock_code,
                   upper(regexp_replace(trim(Description), '\\s+', ' ', 'g')) AS description,
                   trim(Category) AS category, TRY_CAST(UnitPrice AS DOUBLE) AS list_price,
                   trim(Category) = 'Non-product' AS is_non_product
            FROM bronze_products WHERE nullif(trim(StockCode), '') IS NOT NULL""",
            f"COPY silver_products TO '{out}/silver/products.parquet' (FORMAT parquet)",
        ],
        "gold": [
            """CREATE TABLE product_lines AS SELECT * FROM silver_orders
               WHERE NOT coalesce(is_non_product, false)""",
            """CREATE TABLE daily_sales AS
            SELECT order_date, coalesce(country, 'Unknown') AS country,
              count(DISTINCT invoice_no) FILTER (WHERE NOT is_cancellation) AS invoices,
              count(*) FILTER (WHERE NOT is_cancellation) AS lines,
              coalesce(sum(quantity) FILTER (WHERE NOT is_cancellation), 0) AS units,
              round(coalesce(sum(line_value) FILTER (WHERE NOT is_cancellation), 0), 2)
                AS gross_revenue,
              round(-coalesce(sum(line_value) FILTER (WHERE is_cancellation), 0), 2)
                AS cancelled_value,
              round(coalesce(sum(line_value), 0), 2) AS net_revenue,
              count(DISTINCT customer_id) FILTER (WHERE NOT is_cancellation)
                AS distinct_customers,
              round(sum(line_value) FILTER (WHERE NOT is_cancellation)
                / nullif(count(DISTINCT invoice_no) FILTER (WHERE NOT is_cancellation), 0), 2)
                AS avg_order_value
            FROM product_lines GROUP BY ALL ORDER BY ALL""",
            f"COPY daily_sales TO '{out}/gold/daily_sales' (FORMAT parquet, PARTITION_BY "
            "(order_date), OVERWRITE_OR_IGNORE)",
            """CREATE TABLE customer_rfm AS
            WITH as_of AS (SELECT max(order_date) + INTERVAL 1 DAY AS as_of FROM silver_orders),
            c AS (
              SELECT customer_id,
                max(order_date) FILTER (WHERE NOT is_cancellation) AS last_order_date,
                count(DISTINCT invoice_no) FILTER (WHERE NOT is_cancellation) AS frequency,
                round(sum(line_value), 2) AS monetary
              FROM product_lines WHERE customer_id IS NOT NULL GROUP BY customer_id
              HAVING frequency > 0),
            m AS (SELECT c.*, as_of, date_diff('day', last_order_date, as_of) AS recency_days
                  FROM c, as_of),
            s AS (SELECT *,
              1 + (5 * (rank() OVER (ORDER BY -recency_days) - 1)) // count(*) OVER ()
                AS r_score,
              1 + (5 * (rank() OVER (ORDER BY frequency) - 1)) // count(*) OVER () AS f_score,
              1 + (5 * (rank() OVER (ORDER BY monetary) - 1)) // count(*) OVER () AS m_score
              FROM m)
            SELECT *, CASE
              WHEN r_score >= 4 AND f_score >= 4 THEN 'Champions'
              WHEN r_score >= 3 AND f_score >= 3 THEN 'Loyal Customers'
              WHEN r_score >= 4 AND f_score = 1 THEN 'New Customers'
              WHEN r_score >= 4 THEN 'Potential Loyalists'
              WHEN r_score <= 2 AND f_score >= 3 THEN 'At Risk'
              WHEN r_score <= 2 AND f_score <= 2 THEN 'Hibernating'
              ELSE 'Needs Attention' END AS rfm_segment
            FROM s ORDER BY customer_id""",
            f"COPY customer_rfm TO '{out}/gold/customer_rfm.parquet' (FORMAT parquet)",
            """CREATE TABLE product_performance AS
            WITH perf AS (
              SELECT date_trunc('month', order_date) AS month, stock_code,
                coalesce(sum(quantity) FILTER (WHERE NOT is_cancellation), 0) AS units_sold,
                round(coalesce(sum(line_value) FILTER (WHERE NOT is_cancellation), 0), 2)
                  AS revenue,
                -coalesce(sum(quantity) FILTER (WHERE is_cancellation), 0) AS units_returned
              FROM product_lines GROUP BY ALL),
            seen AS (
              SELECT stock_code, arg_max(description, n) AS description FROM (
                SELECT stock_code, description, count(*) AS n FROM product_lines
                WHERE description IS NOT NULL GROUP BY ALL) GROUP BY stock_code)
            SELECT perf.month, perf.stock_code,
              coalesce(p.description, seen.description) AS description,
              coalesce(p.category, 'Unknown') AS category, units_sold, revenue, units_returned,
              round(units_returned / nullif(units_sold, 0), 4) AS return_rate,
              rank() OVER (PARTITION BY perf.month ORDER BY revenue DESC) AS revenue_rank
            FROM perf LEFT JOIN silver_products p USING (stock_code)
            LEFT JOIN seen USING (stock_code) ORDER BY perf.month, perf.stock_code""",
            f"COPY product_performance TO '{out}/gold/product_performance.parquet' "
            "(FORMAT parquet)",
            """CREATE TABLE cohort_retention AS
            WITH active AS (
              SELECT DISTINCT customer_id, date_trunc('month', order_date) AS month
              FROM product_lines WHERE NOT is_cancellation AND customer_id IS NOT NULL),
            cohorts AS (SELECT *, min(month) OVER (PARTITION BY customer_id) AS cohort_month
                        FROM active),
            counts AS (
              SELECT cohort_month, date_diff('month', cohort_month, month) AS month_offset,
                     count(*) AS active_customers
              FROM cohorts GROUP BY ALL)
            SELECT *, first(active_customers) OVER (PARTITION BY cohort_month
                ORDER BY month_offset) AS cohort_size,
              round(active_customers / cohort_size, 4) AS retention_rate
            FROM counts ORDER BY ALL""",
            f"COPY cohort_retention TO '{out}/gold/cohort_retention.parquet' (FORMAT parquet)",
        ],
    }


# Each check returns one row with `failed` (0: passed) and `what`.
CHECKS = [
    # row accounting: bronze = silver + quarantine + duplicates removed holds by construction
    # (a line is rejected or passes); what can break it is a lookup that loses or doubles lines
    """SELECT (SELECT count(*) FROM judged_orders) - (SELECT count(*) FROM bronze_orders)
         AS failed, 'row accounting' AS what""",
    """SELECT count(*) FILTER (WHERE invoice_no IS NULL OR stock_code IS NULL
         OR quantity IS NULL OR invoice_date IS NULL OR unit_price IS NULL) AS failed,
         'silver required columns not null' AS what FROM silver_orders""",
    """SELECT count(*) FILTER (WHERE NOT regexp_full_match(invoice_no, 'C?\\d{6,}'))
         AS failed, 'invoice number format (warn)' AS what FROM silver_orders""",
    """SELECT count(*) - count(DISTINCT (order_date, country)) AS failed,
         'daily_sales key unique' AS what FROM daily_sales""",
    """SELECT count(*) - count(DISTINCT customer_id)
         + count(*) FILTER (WHERE r_score NOT BETWEEN 1 AND 5 OR f_score NOT BETWEEN 1 AND 5
           OR m_score NOT BETWEEN 1 AND 5) AS failed, 'rfm key and scores' AS what
       FROM customer_rfm""",
    """SELECT count(*) - count(DISTINCT (month, stock_code)) AS failed,
         'product_performance key unique' AS what FROM product_performance""",
    """SELECT count(*) FILTER (WHERE retention_rate NOT BETWEEN 0 AND 1) AS failed,
         'retention rate in 0..1' AS what FROM cohort_retention""",
    """SELECT abs((SELECT sum(net_revenue) FROM daily_sales)
         - (SELECT coalesce(sum(line_value), 0) FROM product_lines)) > 0.01 * (SELECT count(*)
         FROM daily_sales) AS failed, 'daily_sales reconciles with silver' AS what""",
]


def run_duckdb(data_dir: Path, out: Path, threads: int = THREADS) -> dict[str, object]:
    """Run the script on `data_dir`/landing, writing under `out`; seconds per layer, the
    checks' seconds, and the checks that failed (a correct script fails none but warn)."""
    import duckdb

    out.mkdir(parents=True, exist_ok=True)
    for layer in ("bronze", "silver", "gold"):
        (out / layer).mkdir(exist_ok=True)
    seconds: dict[str, float] = {"bronze": 0.0, "silver": 0.0, "gold": 0.0, "checks": 0.0}
    connection = duckdb.connect()
    connection.execute(f"SET threads = {threads}")
    connection.execute("SET preserve_insertion_order = false")
    for layer, statements in _statements(data_dir / "landing", out).items():
        started = time.perf_counter()
        for statement in statements:
            connection.execute(statement)
        seconds[layer] = time.perf_counter() - started
    started = time.perf_counter()
    failed = {}
    for check in CHECKS:
        value, what = connection.execute(check).fetchone()
        if value:
            failed[what] = int(value)
    seconds["checks"] = time.perf_counter() - started
    connection.close()
    return {"seconds_per_layer": seconds, "failed_checks": failed}
