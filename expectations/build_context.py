"""(Re)write the committed GX file context: the datasource, and per suite of `expectations.suite` an
asset, the suite, a validation definition and a checkpoint (its action: results to ClickHouse).

Re-runnable: existing objects are reused by name (so their ids stay put), each suite's expectations
are replaced with the ones `expectations.suite` derives from the code, and objects no suite names
any more are removed.
Run from the repo root: `python -m expectations.build_context`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ruamel.yaml import YAML

from cur import settings as cur_settings
from expectations import context as names

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
    # The index lists the latest results only (about three weeks of daily runs): every build reads
    # and renders what it lists. The whole history is in cur.dq_results.
    config["data_docs_sites"]["local_site"]["site_index_builder"]["validation_results_limit"] = 200
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


def _remove_stale(context: Any) -> None:
    """Drop the checkpoints, validation definitions, suites and assets no suite of the code names any more."""
    from expectations.suite import SUITE_NAMES

    for checkpoint in context.checkpoints.all():
        if checkpoint.name not in SUITE_NAMES:
            context.checkpoints.delete(checkpoint.name)
    for definition in context.validation_definitions.all():
        if definition.name not in SUITE_NAMES:
            context.validation_definitions.delete(definition.name)
    for suite in context.suites.all():
        if suite.name not in SUITE_NAMES:
            context.suites.delete(suite.name)
    datasource = context.data_sources.get(names.DATASOURCE)
    for asset in list(datasource.assets):
        if asset.name not in SUITE_NAMES:
            datasource.delete_asset(asset.name)


def build() -> None:
    settings = cur_settings.load()
    names.open_context(settings)  # scaffolds gx/ on the first run
    _point_outputs_at_state_dir()
    context = names.open_context(settings)

    import great_expectations as gx
    from great_expectations.exceptions import DataContextError

    from expectations.results_action import ClickHouseResultsAction
    from expectations.suite import SUITE_NAMES, build_suite

    try:
        datasource = context.data_sources.get(names.DATASOURCE)
    except KeyError:
        datasource = context.data_sources.add_pandas(names.DATASOURCE)
    for name in SUITE_NAMES:
        try:
            asset = datasource.get_asset(name)
        except LookupError:
            asset = datasource.add_dataframe_asset(name)
        try:
            batch_definition = asset.get_batch_definition(names.BATCH_DEFINITION)
        except KeyError:
            batch_definition = asset.add_batch_definition_whole_dataframe(names.BATCH_DEFINITION)

        suite = build_suite(name)
        try:
            existing = context.suites.get(name)
        except DataContextError:
            suite = context.suites.add(suite)
        else:
            suite = _replace_expectations(existing, suite)

        validation_definition = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=name, data=batch_definition, suite=suite)
        )
        context.checkpoints.add_or_update(
            gx.Checkpoint(
                name=name,
                validation_definitions=[validation_definition],
                # The gate (expectations/run_checkpoint.py) updates the Data Docs once per run, for all
                # its checkpoints: a site build per checkpoint was most of a checkpoint's time.
                actions=[ClickHouseResultsAction(name="store_results_in_clickhouse")],
                result_format={"result_format": "SUMMARY", "partial_unexpected_count": 10},
            )
        )
    _remove_stale(context)
    print(f"GX context written to {names.CONTEXT_DIR}")


if __name__ == "__main__":
    build()
