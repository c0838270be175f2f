"""A model whose stored columns are from an earlier version stops the build with dbt's schema-change
error; `liquidationheatmap build` then says which models, and how to rebuild only those."""

from __future__ import annotations

from types import SimpleNamespace

from liquidationheatmap.commands.build import SCHEMA_CHANGE, schema_change_hint


def _failure(name: str, message: str) -> SimpleNamespace:
    return SimpleNamespace(name=name, message=message)


def test_the_hint_names_the_models_and_the_targeted_full_refresh():
    failures = [
        _failure("stg_truth__liquidations", f"The source and target {SCHEMA_CHANGE}: new columns"),
        _failure("fct_liquidation_history", f"Compilation Error: {SCHEMA_CHANGE}"),
        _failure("fct_model_scores", "Runtime Error: something else"),
    ]
    hint = schema_change_hint(failures)
    assert "fct_liquidation_history, stg_truth__liquidations" in hint
    assert "build --full-refresh --select fct_liquidation_history stg_truth__liquidations`" in hint
    assert "fct_model_scores" not in hint and "rebuild them from the lake" in hint
    one = schema_change_hint(failures[:1])
    assert "--select stg_truth__liquidations`" in one and "rebuild it from the lake" in one
    assert schema_change_hint(failures[2:]) is None
