"""Tests of etl_assets/marts/: the mart model and the retail registry."""
