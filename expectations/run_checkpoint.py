"""The data-quality gate: validate one data interval with the committed GX checkpoints of some layers.

    python -m expectations.run_checkpoint --start ISO --end ISO [--layers source|marts|all|raw,canonical,...]
                                          [--run-id ID]

One process loads the GX context once and runs every checkpoint of the chosen layers (one per suite,
expectations/suite.py), each on the frame `expectations.frames` reads for the interval. Each checkpoint
writes its results to `cur.dq_results` (its action, expectations/results_action.py); then the Data Docs
under `<state dir>/gx/data_docs/local_site/` (served by infra/services/docs.sh) are updated once with
every result of the run: one site build instead of one per checkpoint (bench/RESULTS.md).

Exit status: 0 = no critical expectation failed (warnings are printed and recorded), 3 (cur.alerts.
GATED_EXIT) = a critical one failed: the interval must not be published, 2 = the check could not run.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cur import settings as cur_settings
from cur.alerts import GATED_EXIT
from cur.settings import Settings
from expectations import context as names
from expectations import frames
from expectations import suite as suites
from expectations.frames import utc as _utc

if TYPE_CHECKING:
    from great_expectations.data_context import FileDataContext

log = logging.getLogger("expectations.gate")
LAYER_GROUPS: dict[str, tuple[str, ...]] = {
    "source": suites.SOURCE_LAYERS,  # before the marts are built: gates dbt_build
    "marts": ("marts",),
    "all": suites.LAYERS,
}
_CONTEXTS: dict[Path, FileDataContext] = {}


@dataclass
class Failure:
    expectation: str
    column: str | None
    unexpected_count: int | None
    element_count: int | None
    observed_value: Any = None
    examples: list[Any] = field(default_factory=list)
    severity: str = suites.CRITICAL
    suite: str = ""

    def describe(self) -> str:
        what = f"[{self.severity}] " + (f"{self.suite}: " if self.suite else "") + self.expectation
        what += f" on {self.column}" if self.column else ""
        if self.unexpected_count is not None:
            what += f": {self.unexpected_count} of {self.element_count} rows unexpected"
            if self.examples:
                what += f", e.g. {self.examples}"
        elif self.observed_value is not None:
            what += f": observed {self.observed_value}"
        return what


@dataclass
class SuiteOutcome:
    suite: str
    layer: str
    rows: int
    evaluated: int
    failures: list[Failure]
    seconds: float
    error: str | None = None  # the frame could not be read or the checkpoint not run


@dataclass
class CheckResult:
    run_id: str
    start: datetime
    end: datetime
    layers: tuple[str, ...]
    outcomes: list[SuiteOutcome]
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def failures(self) -> list[Failure]:
        return [f for o in self.outcomes for f in o.failures]

    @property
    def critical(self) -> list[Failure]:
        return [f for f in self.failures if f.severity == suites.CRITICAL]

    @property
    def warnings(self) -> list[Failure]:
        return [f for f in self.failures if f.severity != suites.CRITICAL]

    @property
    def errors(self) -> list[str]:
        return [f"{o.suite}: {o.error}" for o in self.outcomes if o.error]

    @property
    def success(self) -> bool:
        """Nothing blocks publication: no critical failure, every suite ran (warnings allowed)."""
        return not self.critical and not self.errors

    def summary(self) -> str:
        verdict = "COULD NOT RUN" if self.errors else "FAILED" if self.critical else "PASSED"
        evaluated = sum(o.evaluated for o in self.outcomes)
        lines = [
            f"{verdict}: layers {', '.join(self.layers)} [{self.start.isoformat()}, {self.end.isoformat()}) run "
            f"{self.run_id} — {len(self.outcomes)} suites, {evaluated - len(self.failures)}/{evaluated} "
            f"expectations met, {len(self.critical)} critical failures, {len(self.warnings)} warnings"
        ]
        lines += [f"  {o.suite}: {o.rows} rows, {o.evaluated} expectations, {o.seconds:.2f}s" for o in self.outcomes]
        lines += [f"  {what}: {s:.2f}s" for what, s in self.seconds.items()]
        lines += [f"  ✗ {failure.describe()}" for failure in self.failures]
        lines += [f"  ! {error}" for error in self.errors]
        return "\n".join(lines)


def context_for(settings: Settings) -> FileDataContext:
    """The file context, loaded once per process and state dir (it is read-only at run time)."""
    key = names.gx_state_dir(settings)
    if key not in _CONTEXTS:
        _CONTEXTS[key] = names.open_context(settings)
    return _CONTEXTS[key]


def _failures(checkpoint_result: Any) -> tuple[int, list[Failure]]:
    evaluated, failures = 0, []
    for validation in checkpoint_result.run_results.values():
        for result in validation.results:
            evaluated += 1
            if result.success:
                continue
            config = result.expectation_config
            details = result.result or {}
            kwargs = config.kwargs
            columns = [
                kwargs.get("column"),
                kwargs.get("column_A"),
                kwargs.get("column_B"),
                *kwargs.get("column_list", []),
            ]
            failures.append(
                Failure(
                    expectation=config.type,
                    column=", ".join(c for c in columns if c) or None,
                    unexpected_count=details.get("unexpected_count"),
                    element_count=details.get("element_count"),
                    observed_value=details.get("observed_value"),
                    examples=list(details.get("partial_unexpected_list") or [])[:5],
                    severity=str(getattr(config.severity, "value", config.severity) or suites.CRITICAL),
                    suite=validation.suite_name,
                )
            )
    return evaluated, failures


def layers_of(spec: str) -> tuple[str, ...]:
    if spec in LAYER_GROUPS:
        return LAYER_GROUPS[spec]
    wanted = tuple(layer.strip() for layer in spec.split(",") if layer.strip())
    unknown = set(wanted) - set(suites.LAYERS)
    if unknown or not wanted:
        raise ValueError(f"unknown layers {sorted(unknown) or spec!r}: {', '.join([*LAYER_GROUPS, *suites.LAYERS])}")
    return wanted


def run(
    settings: Settings,
    start: datetime,
    end: datetime,
    layers: tuple[str, ...] = suites.SOURCE_LAYERS,
    *,
    run_id: str | None = None,
    now: datetime | None = None,
    data_docs: bool = True,
) -> CheckResult:
    """Run the checkpoints of `layers` on [start, end); results go to ClickHouse and (unless `data_docs`
    is false, as in the tests of single expectations) to the Data Docs."""
    from great_expectations.core.run_identifier import RunIdentifier

    from expectations import results_action
    from expectations.results_action import ClickHouseResultsAction

    start, end = _utc(start), _utc(end)
    if start >= end:
        raise ValueError(f"empty interval: {start.isoformat()} >= {end.isoformat()}")
    now = _utc(now or datetime.now(UTC))
    run_id = run_id or f"manual__{now:%Y%m%dT%H%M%SZ}_{uuid.uuid4().hex[:8]}"
    interval = frames.Interval(start, end, now)
    clock = time.perf_counter()
    context = context_for(settings)
    seconds = {"context": time.perf_counter() - clock}
    outcomes: list[SuiteOutcome] = []
    validated: list[Any] = []  # the run's validation result ids, for the Data Docs
    ch = frames.client(settings)
    try:
        for spec in suites.SUITES:
            if spec.layer not in layers:
                continue
            clock = time.perf_counter()
            try:
                frame = frames.READERS[spec.name](ch, settings, interval)
                checkpoint = context.checkpoints.get(spec.name)
                for action in checkpoint.actions:
                    if isinstance(action, ClickHouseResultsAction):
                        action.bind(settings, start, end)
                result = checkpoint.run(
                    batch_parameters={"dataframe": frame}, run_id=RunIdentifier(run_name=run_id, run_time=now)
                )
            except Exception as exc:  # one suite that cannot run must not hide the others' results
                error = f"{type(exc).__name__}: {exc}"
                outcomes.append(SuiteOutcome(spec.name, spec.layer, 0, 0, [], time.perf_counter() - clock, error))
                try:
                    results_action.could_not_run(settings, run_id, now, spec.name, spec.layer, (start, end), error)
                except Exception:  # ClickHouse itself is down: the exit status and the log still say it
                    log.exception("could not record that %s could not run", spec.name)
                continue
            validated += list(result.run_results)
            evaluated, failures = _failures(result)
            outcomes.append(
                SuiteOutcome(spec.name, spec.layer, len(frame), evaluated, failures, time.perf_counter() - clock)
            )
    finally:
        ch.close()
    clock = time.perf_counter()
    if validated and data_docs:
        # Once per run, not per checkpoint: a site build compiles its templates and rewrites the index.
        context.build_data_docs(site_names=[names.DATA_DOCS_SITE], resource_identifiers=validated)
    seconds["data_docs"] = time.perf_counter() - clock
    return CheckResult(run_id=run_id, start=start, end=end, layers=layers, outcomes=outcomes, seconds=seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m expectations.run_checkpoint", description=__doc__.split("\n")[0])
    parser.add_argument("--start", required=True, type=datetime.fromisoformat, help="interval start, ISO-8601 UTC")
    parser.add_argument("--end", required=True, type=datetime.fromisoformat, help="interval end (exclusive)")
    parser.add_argument("--layers", default="source", help="source (default), marts, all, or a list: raw,canonical")
    parser.add_argument("--run-id", default=None, help="the run's id in cur.dq_results (default: a new one)")
    args = parser.parse_args(argv)
    try:
        outcome = run(cur_settings.load(), args.start, args.end, layers_of(args.layers), run_id=args.run_id)
    except Exception as exc:  # any failure to run is reported as "could not run"
        print(f"COULD NOT RUN: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    print(outcome.summary())
    print(f"Data Docs: {names.data_docs_dir(cur_settings.load()) / 'index.html'}")
    if outcome.errors:
        return 2
    return 0 if outcome.success else GATED_EXIT


if __name__ == "__main__":
    sys.exit(main())
