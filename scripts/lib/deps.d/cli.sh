# The command line tool (python/boundarytrace/cli/): tests/python/test_cli_html.py
# renders `boundarytrace report --html` in headless Chromium and checks the
# charts drew. (promtool, for the export tests, comes with `prometheus` in
# common.sh.) Sourced by scripts/lib/common.sh.
BT_DEBS+=(chromium)
