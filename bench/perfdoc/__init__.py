"""The sections of docs/performance.md, for bench/report.py: a module per
benchmark family (its targets, tables and notes), and common.py for what they
share (the targets' thresholds, the results, formatting)."""
