"""(Re)write the committed GX file context: datasource, asset, suite, validation definition, checkpoint.

Re-runnable: existing objects are reused by name (so their ids stay put) and the suite's
expectations are replaced with the ones `expectations.suite` derives from the code.
Run from the repo root: `python -m expectations.build_context`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ruamel.yaml import YAML

from cur import settings as cur_settings
from expectations import context as names
from expectations.suite import build_suite

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuite

# Generated output goes to the state dir (see expectations/context.py), not to gx/uncommitted/.
_STATE_STORES: dict[tuple[str, ...], str] = {
    ("stores", "validation_results_store", "store_backend", "base_directory"): "validations/",
    ("data_docs_sites", "local_site", "store_backend", "base_directory"): "data_docs/local_site/",
}


def _point_outputs_at_state_dir() -> None:
    """Set the results store and Data Docs site paths in great_expectations.yml, keeping its comments."""
    path = names.CONTEXT_DIR / "great_expectations.yml"
    yaml = YAML()
    config: Any = yaml.load(path)
    for keys, subdir in _STATE_STORES.items():
        node = config
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = f"${{{names.STATE_DIR_VARIABLE}}}/{subdir}"
    config["data_docs_sites"]["local_site"]["show_how_to_buttons"] = False
    config["progress_bars"] = {"globally": False}  # task logs, not terminals
    config["analytics_enabled"] = False  # no usage statistics: nothing leaves the machine at run time
    with path.open("w", encoding="utf-8") as f:
        yaml.dump(config, f)


def _replace_expectations(existing: ExpectationSuite, wanted: ExpectationSuite) -> ExpectationSuite:
    """Give `existing` the wanted expectations, keeping the ids of unchanged ones (a quiet diff)."""

    def key(expectation: Any) -> str:
        return json.dumps([expectation.expectation_type, expectation.configuration.kwargs], sort_keys=True, default=str)

    ids = {key(e): e.id for e in existing.expectations}
    for expectation in list(existing.expectations):
        existing.delete_expectation(expectation)
    for expectation in wanted.expectations:
        expectation.id = None
        added = existing.add_expectation(expectation)
        # Only a stored suite assigns ids; put an unchanged expectation's old id back.
        if key(added) in ids:
            added.id = ids[key(added)]
    existing.meta = wanted.meta
    existing.save()
    return existing


def build() -> None:
    settings = cur_settings.load()
    names.open_context(settings)  # scaffolds gx/ on the first run
    _point_outputs_at_state_dir()
    context = names.open_context(settings)

    try:
        datasource = context.data_sources.get(names.DATASOURCE)
    except KeyError:
        datasource = context.data_sources.add_pandas(names.DATASOURCE)
    try:
        asset = datasource.get_asset(names.ASSET)
    except LookupError:
        asset = datasource.add_dataframe_asset(names.ASSET)
    try:
        batch_definition = asset.get_batch_definition(names.BATCH_DEFINITION)
    except KeyError:
        batch_definition = asset.add_batch_definition_whole_dataframe(names.BATCH_DEFINITION)

    import great_expectations as gx
    from great_expectations.checkpoint import UpdateDataDocsAction
    from great_expectations.exceptions import DataContextError

    suite = build_suite()
    try:
        existing = context.suites.get(names.SUITE)
    except DataContextError:
        suite = context.suites.add(suite)
    else:
        suite = _replace_expectations(existing, suite)

    validation_definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=names.VALIDATION_DEFINITION, data=batch_definition, suite=suite)
    )
    context.checkpoints.add_or_update(
        gx.Checkpoint(
            name=names.CHECKPOINT,
            validation_definitions=[validation_definition],
            actions=[UpdateDataDocsAction(name="update_data_docs")],
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": 10},
        )
    )
    print(f"GX context written to {names.CONTEXT_DIR}")


if __name__ == "__main__":
    build()
