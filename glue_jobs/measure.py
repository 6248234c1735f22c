"""What a run read and wrote: through :class:`glue_jobs.storage.Storage` (outside Spark), and by Spark's tasks.

Spark's figure is its own: the ``totalInputBytes`` of every executor in the application's status store (what the
Spark UI's Executors page shows, the sum of the tasks' input metrics), taken before and after the run. The
listener bus that fills that store is asynchronous, so it is drained first. PySpark offers no SparkListener and
its ``statusTracker`` no input metrics, hence the status store through the JVM gateway; it is there in local mode
and on Glue alike."""

from __future__ import annotations

from dataclasses import dataclass, field

from pyspark.sql import SparkSession

from glue_jobs.storage import Storage


@dataclass(frozen=True)
class IoFigures:
    """Bytes and objects read and written through the run's storages, the bytes read split by area."""

    bytes_read: int = 0
    objects_read: int = 0
    bytes_written: int = 0
    objects_written: int = 0
    bytes_read_by_area: dict[str, int] = field(default_factory=dict)


def spark_input_bytes(spark: SparkSession) -> int:
    """The bytes Spark's tasks have read since the application started (all executors, dead ones included)."""
    context = spark.sparkContext._jsc.sc()
    context.listenerBus().waitUntilEmpty()
    executors = context.statusStore().executorList(False)
    return sum(int(executors.apply(n).totalInputBytes()) for n in range(executors.size()))


def area_of(path: str, areas: dict[str, str]) -> str:
    """The area of the longest prefix of ``areas`` (prefix -> area) that ``path`` is under; "other" if none."""
    best = ""
    for prefix in areas:
        if (path == prefix or path.startswith(prefix.rstrip("/") + "/")) and len(prefix) > len(best):
            best = prefix
    return areas[best] if best else "other"


def storage_figures(storages: list[Storage], areas: dict[str, str]) -> IoFigures:
    """The sum of what each distinct storage counted, its reads split by ``areas`` (prefix -> area)."""
    distinct = list({id(s): s for s in storages}.values())
    by_area: dict[str, int] = {}
    for storage in distinct:
        for path, size in storage.counts.read_by_path.items():
            area = area_of(path, areas)
            by_area[area] = by_area.get(area, 0) + size
    return IoFigures(
        sum(s.counts.bytes_read for s in distinct),
        sum(s.counts.objects_read for s in distinct),
        sum(s.counts.bytes_written for s in distinct),
        sum(s.counts.objects_written for s in distinct),
        dict(sorted(by_area.items())),
    )
