"""HTML validation report: summary table, plots and notes of a ScoreReport in one file."""

from numerpilot.report.page import render_html, write_validation_report

__all__ = ["render_html", "write_validation_report"]
