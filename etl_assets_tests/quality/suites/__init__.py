"""Tests of etl_assets/quality/suites/."""
