"""The automation's environment variables: read once, checked, with defaults that work."""

import pytest

from etl_assets.settings import SettingsError, load_settings


def test_defaults():
    settings = load_settings({})
    assert settings.timezone == "UTC"
    assert settings.ui_url == "http://localhost:3000"
    assert settings.landing_sensor_interval_seconds == 30
    assert not settings.alert_webhook_from_env


def test_every_variable_is_read():
    settings = load_settings(
        {
            "ETL_TIMEZONE": "Europe/Berlin",
            "ETL_UI_URL": "https://dagster.example/",
            "ETL_LANDING_SENSOR_INTERVAL_SECONDS": "5",
            "ETL_ALERT_WEBHOOK_URL": "https://hooks.example/T1/B2/secret",
        }
    )
    assert settings.timezone == "Europe/Berlin"
    assert settings.ui_url == "https://dagster.example"  # links append /runs/<id>
    assert settings.landing_sensor_interval_seconds == 5
    assert settings.alert_webhook_from_env
    assert "secret" not in repr(settings)


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("ETL_TIMEZONE", "Mars/Olympus", "IANA name"),
        ("ETL_TIMEZONE", "../etc", "IANA name"),
        ("ETL_LANDING_SENSOR_INTERVAL_SECONDS", "0", "whole number of seconds"),
        ("ETL_LANDING_SENSOR_INTERVAL_SECONDS", "fast", "whole number of seconds"),
    ],
)
def test_bad_values_say_what_to_do(variable, value, words):
    with pytest.raises(SettingsError, match=words):
        load_settings({variable: value})
