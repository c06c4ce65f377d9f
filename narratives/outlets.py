"""Outlet names: one canonical name per outlet through an editable alias table (``configs/outlet_aliases.yaml``)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import yaml

from narratives.errors import ConfigError

DEFAULT_ALIASES = "configs/outlet_aliases.yaml"
_PROJECT_ROOT = Path(__file__).resolve().parent.parent


def outlet_key(name: str) -> str:
    """Comparable form: lower case, no scheme, 'www.', path or surrounding punctuation."""
    s = name.strip().lower()
    if "://" in s:
        s = urlparse(s).netloc or s
    s = s.removeprefix("www.").split("/")[0] if re.match(r"^[\w.-]+\.[a-z]{2,}(/|$)", s.removeprefix("www.")) else s
    return re.sub(r"\s+", " ", s).strip(" .,;:-")


class OutletAliases:
    """Maps any known spelling to its canonical outlet name; unknown names are kept as written."""

    def __init__(self, table: dict[str, list[str]] | None = None):
        self.index: dict[str, str] = {}
        for canonical, aliases in (table or {}).items():
            for alias in [canonical, *(aliases or [])]:
                self.index[outlet_key(str(alias))] = canonical

    @classmethod
    def load(cls, path: str | None) -> "OutletAliases":
        """Load the YAML table; the default path is looked up in the working directory, then the project."""
        if path is None:
            return cls()
        p = Path(path)
        candidates = [p] if p.is_absolute() else [Path.cwd() / p, _PROJECT_ROOT / p]
        for cand in candidates:
            if cand.is_file():
                try:
                    data = yaml.safe_load(cand.read_text(encoding="utf-8")) or {}
                except yaml.YAMLError as err:
                    raise ConfigError(f"outlet alias table {str(cand)!r} is not valid YAML: {err}".replace("\n", " ")) from None
                if not isinstance(data, dict) or not all(isinstance(v, list) or v is None for v in data.values()):
                    raise ConfigError(
                        f"outlet alias table {str(cand)!r} must map each canonical name to a list of aliases")
                return cls(data)
        if path == DEFAULT_ALIASES:
            return cls()
        raise ConfigError(f"ingest.outlet_aliases={path!r}: file not found (give an existing YAML file or null)")

    def canonical(self, name: str | None) -> str | None:
        if name is None or not str(name).strip():
            return None
        key = outlet_key(str(name))
        return self.index.get(key, str(name).strip())
