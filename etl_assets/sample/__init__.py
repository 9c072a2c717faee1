"""Deterministic sample landing zone in the shape of the public UCI "Online Retail" data set.

`generate_sample(out_dir, ...)` writes, under ``out_dir/landing``:

- ``orders/orders_YYYY-MM-DD.csv``: one file a day, exactly ``rows_per_day`` invoice lines,
  header ``InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country``;
  dates like the original (``12/1/2010 8:26``, month/day/year, no zero padding, 24 h).
- ``customers/customers_YYYY-MM-DD.csv``: a daily snapshot ``CustomerID,Email,Country`` of
  every customer signed up so far; ~0.5 % of them change country or email each day, and a
  few emails carry case / whitespace noise. Emails are PII (``first.last123@example.com``).
- ``products/products.csv``: the catalogue ``StockCode,Description,Category,UnitPrice``,
  including the non-product codes (category ``Non-product``).
- ``manifest.json``: the parameters, ``DIRT_RATES`` and, per day, the TRUE number of lines
  of each dirt kind in that day's orders file (plus customers and products row counts).

Same seed and arguments give byte-identical files. Every day draws from its own random
stream, so a longer run extends a shorter one with the same seed: the first days' files are
identical (handy to simulate new days landing).

Dirt injected in the orders files (``DIRT_RATES``, as a fraction of the day's lines):

===================== ======= =========================================================
kind                  rate    what the line looks like
===================== ======= =========================================================
duplicates            1 %     extra byte-identical copy of a clean line of the same file
cancellations         2 %     whole invoices ``C536379`` with negative quantities
missing_customer_id   20 %    whole invoices with an empty CustomerID
zero_price            0.5 %   UnitPrice ``0.00``
negative_price        0.1 %   UnitPrice like ``-11062.06`` (bad-debt adjustments)  REJECTING
non_product           1 %     POST, M, D, BANK CHARGES, AMAZONFEE (at most one per invoice)
description_noise     5 %     surrounding / doubled spaces or lower / mixed case
country_noise         3 %     ``" france"``, ``"GERMANY "``...
unparseable_quantity  0.2 %   ``abc``, ``1.5.2``, ``12x`` or empty                  REJECTING
unparseable_date      0.2 %   ``31/31/2024 8:00``, ``not a date``, ``2024-13-45``, empty REJECTING
missing_invoice_no    0.05 %  empty InvoiceNo                                       REJECTING
missing_stock_code    0.05 %  empty StockCode                                       REJECTING
latin1                0.2 %   a line saved as latin-1 in the UTF-8 file: its
                              Description gets É, Ñ, Ü, £ or ° as latin-1 bytes
                              (the line is not valid UTF-8)                         REJECTING
late_rows             2 %     whole invoices dated the previous day (none on day one)
===================== ======= =========================================================

``country_alias`` (no rate) counts lines whose country, trimmed and case-folded, is one of
the aliases EIRE, RSA, USA, Unspecified that occur naturally in the country list.

Rules that keep the manifest exact:

- base lines are all distinct: a stock code appears at most once per invoice, an emptied
  InvoiceNo never shares its stock code with another emptied one, an emptied StockCode
  never shares its invoice with another; so every exact duplicate is an injected one;
- a line carries at most one rejecting dirt; rejecting lines are never late nor duplicated;
- late rows are their own invoices (fresh numbers), clean of rejecting dirt, never duplicated;
- non-rejecting dirt may overlap and each kind is counted on its own; ``description_noise``
  never hits a latin1 or missing_stock_code line, so it can be checked against the catalogue;
- ``rejected`` = the sum of the rejecting kinds = the lines the pipeline must quarantine.

Files are UTF-8. A few product names carry accents or a pound sign (``CAFÉ DE PARIS``,
``CÔTE D'AZUR``, ``CRÈME``, ``GIFT BOXED £1``), so an orders file holds genuine multi-byte
UTF-8 text beside its latin1 lines; that is what tells ``encoding: auto`` it is a UTF-8
file with broken lines (quarantined) rather than a latin-1 file (read whole). A day whose
normal lines happen to hold no accented name gets no latin1 lines (the manifest says 0).
Lines are shuffled within a file, and copies are never adjacent to their original.

Modules, by job: ``parameters`` (knobs, limits, argument checks, random streams),
``catalogue``, ``customers``, ``invoices`` (clean invoices and lines), ``noise`` (the dirt
and its counts), ``orders`` (one day's file), ``csv_text``, ``landing`` (writes the files and
the manifest); ``api`` serves the catalogue over HTTP and ``postgres`` seeds the demo table.
"""

from etl_assets.sample.landing import generate_sample
from etl_assets.sample.parameters import SampleError

__all__ = ["SampleError", "generate_sample"]
