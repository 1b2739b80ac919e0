"""The report: every table and figure present, both formats agree, results round-trip."""

from __future__ import annotations

import pytest

from evaluation.document import Document, Heading, Paragraph, Table
from evaluation.report import build_report
from evaluation.results import SuiteResults
from evaluation.schema import EvaluationError

FIGURES = ("cost_slo_tradeoff", "scenario_cost_ratio", "scenario_slo", "reward_decomposition",
           "training_curves", "decision_boundaries", "perturbation_timelines")


def test_report_has_every_table_and_figure(results, tmp_path):
    paths = build_report(results, tmp_path)
    md = paths["markdown"].read_text()
    html = paths["html"].read_text()
    for name in FIGURES:
        png = tmp_path / "figures" / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
        assert f"figures/{name}.png" in md and f"figures/{name}.png" in html
    for heading in ("Headline results", "Cost by domain", "Per scenario", "Significance",
                    "Perturbations", "Reward decomposition", "Learning", "Reproducibility"):
        assert heading in md and heading in html
    assert "no policy beat the oracle." in md
    assert "Holm" in md and "maddpg beats" in md  # static and hpa cost more than the reference
    assert md.count("\n| ") > 40 and html.count("<table>") >= 8


def test_oracle_check_flags_a_policy_below_the_bound(results, tmp_path):
    results.episodes.loc[0, "cost_total"] = 0.4 * results.episodes.loc[0, "oracle_cost"]
    md = build_report(results, tmp_path)["markdown"].read_text()
    assert "CHECK FAILED" in md


def test_results_round_trip(results, tmp_path):
    results.save(tmp_path)
    again = SuiteResults.load(tmp_path)
    assert again.reference == "maddpg" and again.suite == "synthetic"
    assert len(again.episodes) == len(results.episodes)
    assert again.record["git_commit"] == "abc"


def test_long_tables_are_gzipped_and_read_back(results, tmp_path, monkeypatch):
    from evaluation import results as results_module

    results.save(tmp_path)  # plain first: a later compressed save must not leave it behind
    monkeypatch.setattr(results_module, "GZIP_ROWS", len(results.timelines) - 1)
    results.save(tmp_path)
    assert (tmp_path / "timelines.csv.gz").is_file() and not (tmp_path / "timelines.csv").exists()
    assert (tmp_path / "episodes.csv").is_file()
    again = SuiteResults.load(tmp_path)
    assert again.timelines.shape == results.timelines.shape
    first = (tmp_path / "timelines.csv.gz").read_bytes()
    results.save(tmp_path)
    assert (tmp_path / "timelines.csv.gz").read_bytes() == first  # reproducible bytes


def test_bad_tables_are_refused(results, tmp_path):
    with pytest.raises(EvaluationError, match="lacks column"):
        SuiteResults(suite="x", episodes=results.episodes.drop(columns="cost_ratio"),
                     timelines=results.timelines, training=results.training,
                     boundaries=results.boundaries, reference="maddpg").validate()
    with pytest.raises(EvaluationError, match="duplicate"):
        dup = results.episodes.iloc[[0, 0]]
        SuiteResults(suite="x", episodes=dup, timelines=results.timelines, training=results.training,
                     boundaries=results.boundaries, reference="maddpg").validate()
    with pytest.raises(EvaluationError, match="no suite results"):
        SuiteResults.load(tmp_path / "missing")


def test_document_escapes_html_and_pipes():
    doc = Document("t").add(Heading("a <b>"), Paragraph("`x` and **y**"), Table(["h|1", "h2"], [["<i>", "2"]]))
    md, html = doc.to_markdown(), doc.to_html()
    assert "h\\|1" in md and "&lt;i&gt;" in html and "<code>x</code>" in html
    assert "<strong>y</strong>" in html and "a &lt;b&gt;" in html
