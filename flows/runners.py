"""The flow's task runner from the config's ``runner`` section.

``kind: local`` keeps ``narratives_flow`` as it is (its chunks run one after another in the flow's process).
``kind: dask`` gives a copy of the flow whose mapped tasks (claim extraction and embedding, one task per chunk)
run on a Dask cluster through prefect-dask's ``DaskTaskRunner``: the cluster at ``runner.address``, or a
``LocalCluster`` of ``runner.n_workers`` processes started for the run and closed after it.

A Dask run needs a real Prefect server: the task runs on the workers report to the API of the flow's settings,
and Prefect's temporary local API lives only inside the flow's process.
"""

from __future__ import annotations

import os

from narratives.config import Config, RunnerConfig
from narratives.errors import NarrativesError

SERVER_HINT = ("run `prefect server start --host 127.0.0.1` (in another terminal or as a service) and "
               "`export PREFECT_API_URL=http://127.0.0.1:4200/api`")


def require_server(why: str) -> str:
    """The configured Prefect API URL (environment or profile); a clear error naming ``why`` when there is none."""
    url = os.environ.get("PREFECT_API_URL", "")
    if not url:
        from prefect.settings import PREFECT_API_URL

        url = PREFECT_API_URL.value() or ""
    if not url:
        raise NarrativesError(f"{why}: {SERVER_HINT}")
    return url


def dask_task_runner(cfg: RunnerConfig):
    """prefect-dask's DaskTaskRunner for ``cfg`` (not started: the flow starts and closes it)."""
    from prefect_dask import DaskTaskRunner

    if cfg.address:
        return DaskTaskRunner(address=cfg.address)
    return DaskTaskRunner(cluster_class="distributed.LocalCluster", cluster_kwargs={
        "n_workers": cfg.n_workers, "threads_per_worker": cfg.threads_per_worker, "processes": True})


def configured_flow(cfg: Config):
    """``narratives_flow`` with the task runner ``cfg.runner`` asks for (checks for a Prefect server first)."""
    from flows.pipeline import narratives_flow

    if cfg.runner.kind == "local":
        return narratives_flow
    require_server("runner.kind 'dask' needs a real Prefect server (each Dask worker would otherwise start a "
                   "temporary one of its own)")
    return narratives_flow.with_options(task_runner=dask_task_runner(cfg.runner))
