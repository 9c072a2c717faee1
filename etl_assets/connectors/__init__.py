"""Resources that read the outside world."""

from etl_assets.connectors.files import LandingFileMissing, LandingFiles, LandingPathError

__all__ = ["LandingFileMissing", "LandingFiles", "LandingPathError"]
