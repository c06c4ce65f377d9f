"""Flow-run heartbeats from a thread that stops as soon as the flow's body ends.

Prefect's engine sends a ``prefect.flow-run.heartbeat`` event every ``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` seconds
(180 by default) while a flow runs, so that a server can tell a crashed run from a long one. Its thread sleeps in
1-second steps, and the engine waits for it when the flow ends: every run ended 0-1 s (0.5 s on average) after
its last step, doing nothing.

A :class:`BeatingFlow` called directly (``narratives run``, tests, Python code) turns the engine's heartbeats off
for its run, and :func:`beating` (around the flow's body) sends the same events, at the same interval, from a
thread that stops at once. Runs that Prefect's engine starts itself (a served deployment, a worker) do not go
through ``Flow.__call__``: they keep Prefect's own heartbeats, and :func:`beating` does nothing there. With the
setting turned off (``None``) no heartbeats are sent either way.
"""

from __future__ import annotations

import contextvars
import threading
from contextlib import contextmanager
from typing import Iterator

from prefect import Flow, __version__
from prefect.context import FlowRunContext, SettingsContext, get_settings_context
from prefect.events import emit_event
from prefect.events.related import tags_as_related_resources
from prefect.events.schemas.events import RelatedResource
from prefect.settings import Settings, get_current_settings

EVENT = "prefect.flow-run.heartbeat"
THREAD_NAME = "narratives-heartbeat"
# The interval of the run's own heartbeats (None: the engine sends them, or they are off), set by BeatingFlow.
_EVERY: contextvars.ContextVar[int | None] = contextvars.ContextVar("narratives_heartbeat_seconds", default=None)


class BeatingFlow(Flow):
    """A Prefect ``Flow`` whose direct calls send heartbeats through :func:`beating` instead of the engine."""

    def __call__(self, *args, **kwargs):
        settings = get_current_settings()
        every = settings.flows.heartbeat_frequency
        token = _EVERY.set(every)
        try:
            with _engine_heartbeats_off(settings):
                return super().__call__(*args, **kwargs)
        finally:
            _EVERY.reset(token)


def _engine_heartbeats_off(settings: Settings) -> SettingsContext:
    """The current settings with ``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` off, as ``temporary_settings`` would give
    them. A copy of the loaded settings with that one value changed: ``temporary_settings`` builds the settings
    again from the environment and the profile (35 ms of every run)."""
    quiet = settings.model_copy(update={"flows": settings.flows.model_copy(update={"heartbeat_frequency": None})})
    return SettingsContext(profile=get_settings_context().profile, settings=quiet)


def _event_parts(ctx: FlowRunContext) -> tuple[dict[str, str], list[RelatedResource]]:
    """The resource and related resources of the flow run's heartbeat, as Prefect's engine builds them."""
    run = ctx.flow_run
    resource = {"prefect.resource.id": f"prefect.flow-run.{run.id}", "prefect.resource.name": run.name or "",
                "prefect.version": __version__}
    related = []
    if run.flow_id:
        related.append(RelatedResource.model_validate({
            "prefect.resource.id": f"prefect.flow.{run.flow_id}", "prefect.resource.role": "flow",
            "prefect.resource.name": ctx.flow.name if ctx.flow else ""}))
    if run.deployment_id:
        related.append(RelatedResource.model_validate({
            "prefect.resource.id": f"prefect.deployment.{run.deployment_id}", "prefect.resource.role": "deployment"}))
    return resource, related + tags_as_related_resources(set(run.tags or []))


@contextmanager
def beating() -> Iterator[None]:
    """Send the flow run's heartbeats while the block runs, when a :class:`BeatingFlow` call asked for them: one
    at once, then one every interval; the thread ends as soon as the block does."""
    every = _EVERY.get()
    ctx = FlowRunContext.get()
    if every is None or ctx is None or ctx.flow_run is None:
        yield
        return
    resource, related = _event_parts(ctx)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                emit_event(event=EVENT, resource=resource, related=related)
            except Exception:  # noqa: BLE001 - a lost heartbeat must not fail the run (as in Prefect's engine)
                pass
            stop.wait(every)

    # the thread sees this context's settings (the API URL), as the engine's heartbeat thread does
    thread = threading.Thread(target=contextvars.copy_context().run, args=(loop,), name=THREAD_NAME, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
