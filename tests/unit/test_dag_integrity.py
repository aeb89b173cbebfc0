"""Every DAG in dags/ imports cleanly and follows the project's policy; `appeals_daily` has its shape.

Runs with plain pytest in the pipeline environment: parsing needs no running service.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pendulum
import pytest

from cur.settings import REPO_ROOT

if TYPE_CHECKING:
    from airflow.dag_processing.dagbag import DagBag


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagBag]:
    """The DAGs of dags/, parsed with a throw-away AIRFLOW_HOME (no airflow.cfg, no database)."""
    home: Path = tmp_path_factory.mktemp("airflow_home")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AIRFLOW_HOME", str(home))
        env.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
        env.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(REPO_ROOT / "dags"))
        from airflow.dag_processing.dagbag import DagBag

        yield DagBag(dag_folder=str(REPO_ROOT / "dags"))


def test_no_import_errors(dagbag: DagBag) -> None:
    assert dagbag.import_errors == {}


def test_every_dag_has_tags_retries_and_docs(dagbag: DagBag) -> None:
    assert dagbag.dags, "no DAG found in dags/"
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.doc_md, f"{dag_id} has no doc_md"
        for task in dag.tasks:
            assert task.retries >= 1, f"{dag_id}.{task.task_id} has no retries"


def test_appeals_daily_tasks_in_order(dagbag: DagBag) -> None:
    dag = dagbag.dags.get("appeals_daily")
    assert dag is not None
    assert [t.task_id for t in dag.topological_sort()] == [
        "reconcile_feeds",
        "dedup_and_link",
        "quality_gate",
        "dbt_build",
        "quality_marts",
        "publish",
    ]
    assert dag.get_task("reconcile_feeds").downstream_task_ids == {"dedup_and_link"}
    assert dag.get_task("dedup_and_link").downstream_task_ids == {"quality_gate"}
    assert dag.get_task("quality_gate").downstream_task_ids == {"dbt_build"}
    assert dag.get_task("dbt_build").downstream_task_ids == {"quality_marts"}
    assert dag.get_task("quality_marts").downstream_task_ids == {"publish"}
    assert dag.get_task("publish").downstream_task_ids == set()


def test_appeals_daily_publishes_its_assets_in_order(dagbag: DagBag) -> None:
    """The steps of dags.assets.STEPS, in order, each task consuming what the step before it published."""
    from dags.assets import STEPS

    dag = dagbag.dags["appeals_daily"]
    [task] = dag.roots
    line = [task]
    while task.downstream_list:  # the DAG is a line (checked above)
        [task] = task.downstream_list
        line.append(task)
    publishers = [t for t in line if t.outlets]
    assert [tuple(a.name for a in t.outlets) for t in publishers] == [tuple(a.name for a in s) for s in STEPS]
    assert [t.task_id for t in publishers] == ["dedup_and_link", "dbt_build", "publish"]
    assert not publishers[0].inlets
    for before, task in zip(STEPS, publishers[1:], strict=False):
        assert [a.name for a in task.inlets] == [before[-1].name], task.task_id
    for task in dag.tasks:
        assert task.on_failure_callback, f"{task.task_id} does not alert the operators"
    dag.check_cycle()  # also done while bagging; explicit here because it is the policy
    assert dag.max_active_runs == 1
    assert dag.catchup is False


def test_appeals_daily_interval_is_one_regional_day(dagbag: DagBag) -> None:
    dag = dagbag.dags.get("appeals_daily")
    assert dag is not None
    from airflow.serialization.encoders import coerce_to_core_timetable

    # What `dag.test(logical_date=...)` and a manual run do: the interval that ends at that moment.
    timetable = coerce_to_core_timetable(dag.timetable)
    interval = timetable.infer_manual_data_interval(run_after=pendulum.datetime(2026, 11, 21, tz="Europe/Moscow"))
    assert interval.start == pendulum.datetime(2026, 11, 20, tz="Europe/Moscow")
    assert interval.end - interval.start == timedelta(days=1)
