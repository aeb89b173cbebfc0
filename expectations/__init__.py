"""The data-quality gate: a Great Expectations file context with one suite per layer and feed.

`python -m expectations.build_context` (re)writes the committed context in `expectations/gx/` from
`expectations/suite.py` and `expectations/rules.toml`; `python -m expectations.run_checkpoint --start ISO
--end ISO [--layers source|marts]` validates one data interval, stores every result in `cur.dq_results`
and updates the Data Docs.
"""
