"""The committed GX file context, opened with results and Data Docs redirected to the state dir.

`great_expectations.yml` points the validation results store and the Data Docs site at
`${CUR_GX_STATE_DIR}`; GX substitutes it from the runtime environment given here (from settings),
so generated output never lands in the repository and nothing but settings reads the environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cur.settings import Settings

if TYPE_CHECKING:
    from great_expectations.data_context import FileDataContext

PROJECT_ROOT = Path(__file__).resolve().parent  # GX keeps its files in PROJECT_ROOT / "gx"
CONTEXT_DIR = PROJECT_ROOT / "gx"

STATE_DIR_VARIABLE = "CUR_GX_STATE_DIR"
DATASOURCE = "cur_clickhouse"  # pandas datasource fed with one interval's frames (expectations/frames.py)
BATCH_DEFINITION = "interval"
DATA_DOCS_SITE = "local_site"
# Per suite (expectations/suite.py): a dataframe asset, a validation definition and a checkpoint of
# the same name, so each suite's results and Data Docs pages are named after it.


def gx_state_dir(settings: Settings) -> Path:
    return settings.state_dir / "gx"


def data_docs_dir(settings: Settings) -> Path:
    return gx_state_dir(settings) / "data_docs" / DATA_DOCS_SITE


def open_context(settings: Settings) -> FileDataContext:
    """The file context in `expectations/gx/` (created by GX on first use)."""
    import great_expectations as gx  # heavy import, kept out of module import time

    import expectations.results_action  # noqa: F401  registers `clickhouse_results` before checkpoints load

    context = gx.get_context(
        mode="file",
        project_root_dir=PROJECT_ROOT,
        runtime_environment={STATE_DIR_VARIABLE: str(gx_state_dir(settings))},
    )
    return context  # type: ignore[return-value]
