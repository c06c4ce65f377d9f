"""narratives: turn scraped news into tracked narratives.

The library is a set of small, Prefect-free stages (ingest -> clean -> claims -> embed ->
cluster -> label -> track -> store -> report). The Prefect flow in ``flows/`` only wires them.
"""

__version__ = "0.1.0"
