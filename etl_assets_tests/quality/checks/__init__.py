"""Tests of etl_assets/quality/checks/."""
