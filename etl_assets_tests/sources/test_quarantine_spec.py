"""`quarantine: {max_rate}`: 5 % by default, a share from 0 to 1, named when wrong."""

from pathlib import Path

import pytest

from etl_assets.sources import SourceDeclarationError
from etl_assets.sources.loading import load_source

ORDERS = Path(__file__).parents[2] / "etl_assets" / "sources" / "orders.yaml"


def declared(tmp_path: Path, block: str) -> Path:
    file = tmp_path / "orders.yaml"
    file.write_text(ORDERS.read_text() + block)
    return file


def test_the_default_is_five_percent_and_a_declared_rate_is_read(tmp_path):
    assert load_source(ORDERS).max_reject_rate == 0.05
    assert load_source(declared(tmp_path, "quarantine: {max_rate: 0.2}\n")).max_reject_rate == 0.2


@pytest.mark.parametrize("block", ["quarantine: {max_rate: 5}\n", "quarantine: {max: 0.1}\n"])
def test_a_wrong_rate_names_the_field(tmp_path, block):
    with pytest.raises(SourceDeclarationError, match="quarantine.max"):
        load_source(declared(tmp_path, block))
