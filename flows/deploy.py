"""The scheduled deployment: `narratives serve` serves the flow on a cron (or interval) schedule from the config.

Prefect fires schedules only against a real server; its temporary local API does not run the scheduler. Start
one on loopback first:

    prefect server start --host 127.0.0.1            # in another terminal (or as a service)
    export PREFECT_API_URL=http://127.0.0.1:4200/api
    narratives serve --config configs/default.yaml   # serves 'narratives-run/daily' until stopped

Each scheduled run processes the inbox folder (``schedule.inbox``): the scrapers drop new batch files there and
whatever the database already holds is skipped, so a run embeds and assigns only the new claims.
`prefect.yaml` describes the same deployment for `prefect deploy` with a work pool.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from narratives.config import Config
from narratives.errors import NarrativesError

from flows.runners import configured_flow, require_server as _require_server


def deployment_parameters(cfg: Config, config_path: str | None, db: str | None = None) -> dict:
    """Flow parameters of a scheduled run; paths made absolute (runs start in their own process)."""
    params: dict = {"input_path": str(Path(cfg.schedule.inbox).resolve()), "wait_seconds": 600.0}
    if config_path:
        params["config_path"] = str(Path(config_path).resolve())
    params["db"] = str(Path(db or cfg.output.db).resolve())
    params["report"] = str(Path(cfg.output.report).resolve())
    params["tables_dir"] = str(Path(cfg.output.tables_dir).resolve())
    return params


def schedule_kwargs(cfg: Config) -> dict:
    """``interval`` when ``schedule.interval_seconds`` is set, else ``cron`` (with the timezone)."""
    s = cfg.schedule
    if s.interval_seconds:
        return {"interval": timedelta(seconds=s.interval_seconds)}
    if s.cron:
        from prefect.schedules import Cron

        return {"schedule": Cron(s.cron, timezone=s.timezone)}
    raise NarrativesError("schedule: set schedule.cron (e.g. '0 6 * * *') or schedule.interval_seconds")


def require_server() -> str:
    return _require_server("narratives serve needs a real Prefect server (schedules do not fire on the temporary one)")


def serve(cfg: Config, config_path: str | None, db: str | None = None) -> None:
    """Serve the deployment until interrupted (one flow run at a time; on Dask when ``runner.kind`` is dask)."""
    url = require_server()
    Path(cfg.schedule.inbox).mkdir(parents=True, exist_ok=True)
    print(f"narratives: serving deployment 'narratives-run/{cfg.schedule.name}' against {url}; "
          f"inbox {Path(cfg.schedule.inbox).resolve()}")
    configured_flow(cfg).serve(
        name=cfg.schedule.name, parameters=deployment_parameters(cfg, config_path, db), limit=1,
        description="Process the newly scraped batches in the inbox.", tags=["narratives"],
        **schedule_kwargs(cfg),
    )
