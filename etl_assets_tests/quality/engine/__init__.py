"""Tests of etl_assets/quality/engine/."""
