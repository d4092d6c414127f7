"""portal.dashboard.components.tables: column widths fit their header words (headers wrap between words only)."""
from __future__ import annotations

from portal.dashboard.components.tables import column, customer_grid


def test_minimum_width_fits_the_longest_header_word_and_segment_names():
    assert column("revenue", "Revenue (£)", "money")["minWidth"] == 9 * len("Revenue") + 76  # 139
    assert column("r_score", "R", "int")["minWidth"] == 96  # never narrower than 96 px
    assert column("segment", "Segment")["minWidth"] == 150  # "Potential Loyalists" fits
    assert column("name", "Name", minWidth=220)["minWidth"] == 220  # an explicit width wins
    assert column("recency", "Recency (days)", "int")["valueFormatter"]["function"].startswith("d3.format")


def test_customer_grid_keeps_the_column_widths_and_adds_server_filters():
    grid = customer_grid("g", [column("revenue", "Revenue (£)", "money"), column("segment", "Segment")])
    columns = {c["field"]: c for c in grid.columnDefs}
    assert columns["revenue"]["minWidth"] == 139 and columns["segment"]["minWidth"] == 150
    assert "inRange" in columns["revenue"]["filterParams"]["filterOptions"]
    assert grid.rowModelType == "infinite"
