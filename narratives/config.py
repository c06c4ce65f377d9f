"""Typed configuration loaded from YAML (``configs/default.yaml``) and validated with clear errors."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from narratives.errors import ConfigError

PACKAGED_MODEL = "packaged:all-MiniLM-L6-v2"


def project_cache_dir() -> Path:
    """Where runs keep caches (Prefect's home, numba's compiled code, ONNX exports, temp files):
    NARRATIVES_CACHE_DIR, else ``.cache`` in a source checkout, else ``~/.cache/narratives``."""
    if os.environ.get("NARRATIVES_CACHE_DIR"):
        return Path(os.environ["NARRATIVES_CACHE_DIR"])
    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").exists():
        return root / ".cache"
    return Path.home() / ".cache" / "narratives"


CANONICAL_FIELDS = ("id", "url", "outlet", "published_at", "title", "text")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IngestConfig(_Section):
    unit: Literal["article", "claim"] = "article"
    field_map: dict[str, str] = Field(default_factory=dict)
    date_format: str | None = None
    csv_delimiter: str | None = None
    encoding: str = "utf-8"
    max_text_chars: int = Field(200_000, ge=1)
    outlet_aliases: str | None = "configs/outlet_aliases.yaml"
    derive_ids: bool = False

    @field_validator("field_map")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(CANONICAL_FIELDS))
        if unknown:
            raise ValueError(
                f"unknown canonical field(s) {unknown}; keys must be among {list(CANONICAL_FIELDS)} "
                "and values the column names in your file"
            )
        return value


class ClaimsConfig(_Section):
    min_words: int = Field(6, ge=1)
    max_words: int = Field(90, ge=2)


class SyndicationConfig(_Section):
    enabled: bool = True
    threshold: float = Field(0.5, gt=0.0, le=1.0)
    shingle_words: int = Field(5, ge=1)
    min_words: int = Field(25, ge=1)
    num_perm: int = Field(128, ge=8)
    bands: int = Field(32, ge=1)
    seed: int = 1


class EmbedConfig(_Section):
    model: str = PACKAGED_MODEL
    backend: Literal["onnx", "torch"] = "onnx"
    batch_size: int = Field(64, ge=1)
    device: str = "cpu"
    precision: Literal["int8", "fp32", "bf16", "auto"] = "int8"
    threads: int | None = Field(None, ge=1)
    normalize: bool = True
    strip_attribution: bool = True

    @model_validator(mode="after")
    def _precision_fits_backend(self) -> "EmbedConfig":
        allowed = {"onnx": ("int8", "fp32"), "torch": ("fp32", "bf16", "auto")}[self.backend]
        if self.precision not in allowed:
            raise ValueError(f"precision {self.precision!r} is not available with backend {self.backend!r}; "
                             f"use one of {list(allowed)} (int8 needs backend onnx, bf16 needs backend torch)")
        if self.backend == "onnx" and self.device != "cpu":
            raise ValueError(f"device {self.device!r}: backend 'onnx' runs on the CPU; use backend torch for "
                             "other devices")
        return self


class ClusterConfig(_Section):
    method: Literal["agglomerative", "umap_hdbscan"] = "agglomerative"
    distance_threshold: float = Field(0.45, gt=0.0, le=2.0)
    linkage: Literal["average", "complete", "single", "weighted"] = "average"
    max_exact: int = Field(10_000, ge=100)
    max_fit: int = Field(100_000, ge=1_000)
    pair_distance: float | None = Field(0.55, gt=0.0, le=2.0)
    seed: int = 42
    n_components: int = Field(5, ge=2)
    n_neighbors: int | None = Field(None, ge=2)
    min_dist: float = Field(0.0, ge=0.0)
    min_cluster_size: int | None = Field(None, ge=2)
    min_samples: int | None = Field(None, ge=1)
    cluster_selection_method: Literal["eom", "leaf"] = "eom"
    reassign_threshold: float = Field(0.6, ge=-1.0, le=1.0)
    theme_distance_threshold: float = Field(0.6, gt=0.0, le=2.0)


class UpdateConfig(_Section):
    """How a run on a database that already holds narratives treats the new claims (see narratives/incremental.py)."""

    recluster_every: int = Field(0, ge=0)
    recluster_unassigned_share: float = Field(0.5, gt=0.0, le=1.0)
    min_overlap: float = Field(0.2, gt=0.0, le=1.0)


class ScheduleConfig(_Section):
    """The Prefect deployment that `narratives serve` serves (and prefect.yaml deploys)."""

    name: str = "daily"
    inbox: str = "inbox"
    cron: str | None = "0 6 * * *"
    interval_seconds: int | None = Field(None, ge=1)
    timezone: str = "UTC"

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None and len(value.split()) != 5:
            raise ValueError("cron must have 5 fields (minute hour day month weekday), e.g. '0 6 * * *'")
        return value


class RunnerConfig(_Section):
    """Where the flow's claim-extraction and embedding chunks run (flows/runners.py builds the task runner)."""

    kind: Literal["local", "dask"] = "local"
    address: str | None = None
    n_workers: int = Field(2, ge=1)
    threads_per_worker: int = Field(1, ge=1)
    chunk_size: int = Field(2000, ge=1)
    # `narratives run` on an existing database: a batch of at most this many input records is ingested, cleaned,
    # split into claims, checked for reprints and embedded in a process forked before Prefect is imported
    # (narratives/ahead.py); 0: never. Runs started by Prefect (`narratives serve`) do every step in the flow.
    ahead_max_records: int = Field(1000, ge=0)

    @field_validator("address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme, sep, rest = value.partition("://")
        host, colon, port = rest.rpartition(":")
        if scheme not in ("tcp", "tls") or not sep or not colon or not host or not port.isdigit():
            raise ValueError("must be a Dask scheduler address 'tcp://HOST:PORT' or 'tls://HOST:PORT', "
                             "e.g. 'tcp://10.0.0.5:8786' (or null to start a local cluster)")
        return value

    @model_validator(mode="after")
    def _address_needs_dask(self) -> "RunnerConfig":
        if self.address is not None and self.kind != "dask":
            raise ValueError(f"address {self.address!r} is set but kind is {self.kind!r}; set kind: dask to use it "
                             "(or address: null)")
        return self


class LabelConfig(_Section):
    n_keywords: int = Field(8, ge=1)
    n_representatives: int = Field(3, ge=1, le=10)
    mmr_diversity: float = Field(0.5, ge=0.0, le=1.0)


class TrackConfig(_Section):
    grains: list[Literal["day", "week", "month"]] = Field(default_factory=lambda: ["day", "week", "month"])


class OutputConfig(_Section):
    db: str = "outputs/narratives.duckdb"
    tables_dir: str = "outputs/tables"
    report: str = "outputs/report.html"


class Config(_Section):
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    claims: ClaimsConfig = Field(default_factory=ClaimsConfig)
    syndication: SyndicationConfig = Field(default_factory=SyndicationConfig)
    embed: EmbedConfig = Field(default_factory=EmbedConfig)
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)
    update: UpdateConfig = Field(default_factory=UpdateConfig)
    label: LabelConfig = Field(default_factory=LabelConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    runner: RunnerConfig = Field(default_factory=RunnerConfig)
    track: TrackConfig = Field(default_factory=TrackConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)

    def config_hash(self) -> str:
        """Stable hash of every setting; written to ``runs.config_hash``."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def with_overrides(self, **sections: dict) -> "Config":
        """A copy with some fields replaced, e.g. ``with_overrides(ingest={"unit": "claim"})``; validated."""
        data = self.model_dump()
        for section, values in sections.items():
            data.setdefault(section, {}).update(values)
        return _validate(data, source="overrides")


def _format_error(err: ValidationError, source: str) -> str:
    parts = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"])
        got = e.get("input")
        parts.append(f"{loc}={got!r}: {e['msg']}" if e["type"] != "missing" else f"{loc}: {e['msg']}")
    return f"invalid config {source}: " + "; ".join(parts) + " (fix the value in the YAML file; see configs/default.yaml)"


def _validate(data: dict, source: str) -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_format_error(err, source)) from None


def load_config(path: str | Path | None = None) -> Config:
    """Load and validate a YAML config; ``None`` gives the built-in defaults."""
    if path is None:
        return Config()
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {str(p)!r} not found (pass --config with an existing YAML file)")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {str(p)!r} is not valid YAML: {err}".replace("\n", " ")) from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {str(p)!r} must hold a mapping of sections, got {type(data).__name__}")
    return _validate(data, source=repr(str(p)))
