"""Data quality of the canonical appeals: a Great Expectations file context and its checkpoint.

`python -m expectations.build_context` (re)writes the committed context in `expectations/gx/`;
`python -m expectations.run_checkpoint --start ISO --end ISO` validates one data interval.
"""
