from pathlib import Path

import pytest

from narratives.config import Config, load_config
from narratives.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_default_yaml_equals_builtin_defaults():
    assert load_config(ROOT / "configs" / "default.yaml") == Config()


def test_none_gives_defaults_and_hash_is_stable():
    assert load_config(None).config_hash() == Config().config_hash()
    assert Config().with_overrides(cluster={"seed": 1}).config_hash() != Config().config_hash()


def test_invalid_value_names_field_value_and_fix(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("cluster:\n  min_cluster_size: 1\n")
    with pytest.raises(ConfigError) as err:
        load_config(p)
    msg = str(err.value)
    assert "cluster.min_cluster_size=1" in msg and "greater than or equal to 2" in msg and "fix" in msg


def test_unknown_key_is_rejected(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("embed:\n  modle: x\n")
    with pytest.raises(ConfigError, match="embed.modle"):
        load_config(p)


def test_unknown_field_map_key(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("ingest:\n  field_map: {date: published}\n")
    with pytest.raises(ConfigError, match="unknown canonical field"):
        load_config(p)


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    p = tmp_path / "broken.yaml"
    p.write_text("cluster: [1,\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(p)


def test_overrides_are_validated():
    assert Config().with_overrides(ingest={"unit": "claim"}).ingest.unit == "claim"
    with pytest.raises(ConfigError, match="ingest.unit"):
        Config().with_overrides(ingest={"unit": "paragraph"})
