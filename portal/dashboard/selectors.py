"""Named selections of a :class:`portal.dashboard.view.View`: the one place that chooses
between the report computed once per dataset (no filter) and the same analytics
function recomputed on the filtered selection.

Pages call ``view.segment_summary()``, ``view.product_summary()``... and never test
``filters.is_empty`` themselves.  Each selection is computed at most once per view.
"""
from __future__ import annotations

import functools
from typing import Callable, TypeVar

import pandas as pd

from analytics.cohorts import average_retention_curve, cohort_table, cohorts_between, retention_matrix
from analytics.errors import InsufficientDataError
from analytics.geography import country_summary
from analytics.migration import SegmentMigration
from analytics.products import ParetoCurve, pareto_curve, product_summary
from analytics.rfm import lorenz_curve, revenue_concentration, rfm_segment_grid, segment_summary
from analytics.trends import kpi_change

T = TypeVar("T")


def selection(method: Callable[..., T]) -> Callable[..., T]:
    """Compute a selection once per view (and per argument values)."""

    @functools.wraps(method)
    def once(self, *args):
        memo = self.__dict__.setdefault("_selections", {})
        key = (method.__name__, args)
        if key not in memo:
            memo[key] = method(self, *args)
        return memo[key]

    return once


class ReportSelections:
    """Mixed into ``View``, which provides ``filters``, ``report``, ``snapshot``, ``window``,
    ``has_scope``, ``selected_customers``, ``selected_lines``, ``scoped_lines``, ``customers``
    and ``models``."""

    @property
    def is_filtered(self) -> bool:
        """True when any filter is set (the selection is not the whole dataset)."""
        return not self.filters.is_empty

    # -- RFM segments

    @selection
    def segment_summary(self) -> pd.DataFrame:
        """analytics.rfm.segment_summary of the selected customers."""
        if not self.is_filtered:
            return self.report.segments
        return segment_summary(self.selected_customers)

    @selection
    def segment_grid(self) -> pd.DataFrame:
        """analytics.rfm.rfm_segment_grid (recency x frequency scores) of the selected customers."""
        if not self.is_filtered:
            return self.report.segment_grid
        return rfm_segment_grid(self.selected_customers)

    @selection
    def segment_migration(self) -> SegmentMigration:
        """The report's segment migration, restricted to the selected customers."""
        if not self.is_filtered:
            return self.report.migration
        return self.report.migration.restrict(self.selected_customers.index)

    @selection
    def revenue_concentration(self) -> tuple[dict | None, pd.DataFrame | None]:
        """(analytics.rfm.revenue_concentration, lorenz_curve) of the selected customers'
        monetary values; (None, None) when they cannot be computed."""
        if not self.is_filtered:
            return self.report.concentration, self.report.lorenz
        monetary = self.selected_customers["monetary"]
        try:
            return revenue_concentration(monetary), lorenz_curve(monetary)
        except InsufficientDataError:
            return None, None

    # -- KPIs, countries, products

    @selection
    def kpis(self) -> pd.DataFrame:
        """analytics.trends.kpi_change over :attr:`window` against the period before it (the
        report's KPIs have the same window when nothing is filtered)."""
        if not self.is_filtered:
            return self.report.kpis
        start, end = self.window
        return kpi_change(self.scoped_lines, start, end)

    @selection
    def country_summary(self) -> pd.DataFrame:
        """analytics.geography.country_summary of the selected lines."""
        if not self.is_filtered:
            return self.report.countries
        return country_summary(self.selected_lines, self.snapshot)

    @selection
    def product_summary(self) -> pd.DataFrame:
        """analytics.products.product_summary of the selected lines."""
        if not self.is_filtered:
            return self.report.products
        return product_summary(self.selected_lines, self.snapshot)

    @selection
    def product_pareto(self) -> ParetoCurve | None:
        """analytics.products.pareto_curve of :meth:`product_summary` (the report's may be None);
        raises ``InsufficientDataError`` when no product has a positive net revenue."""
        if not self.is_filtered:
            return self.report.pareto
        return pareto_curve(self.product_summary())

    # -- cohorts

    @selection
    def cohort_table(self) -> pd.DataFrame:
        """analytics.cohorts.cohort_table of the scoped lines, cohorts acquired in the date window."""
        table = cohort_table(self.scoped_lines, self.snapshot) if self.has_scope else self.report.cohorts
        if self.filters.start or self.filters.end:
            table = cohorts_between(table, self.filters.start, self.filters.end)
        return table

    @selection
    def retention_matrix(self, value: str = "retention") -> pd.DataFrame:
        """analytics.cohorts.retention_matrix of ``value`` over :meth:`cohort_table`."""
        if not self.is_filtered and value == "retention":
            return self.report.retention
        return retention_matrix(self.cohort_table(), value)

    @selection
    def retention_curve(self) -> pd.DataFrame:
        """analytics.cohorts.average_retention_curve of :meth:`cohort_table`."""
        if not self.is_filtered:
            return self.report.retention_curve
        return average_retention_curve(self.cohort_table())

    # -- clusters

    @selection
    def cluster_coordinates(self) -> pd.DataFrame:
        """The report's cluster coordinates (2D/3D, cluster) of the selected customers."""
        coordinates = self.report.clusters.coordinates
        if not self.is_filtered:
            return coordinates
        return coordinates[coordinates.index.isin(self.selected_customers.index)]

    @selection
    def cluster_selected_sizes(self) -> pd.Series:
        """Selected customers per cluster (index: the report's cluster profiles)."""
        profiles = self.report.clusters.profiles
        if not self.is_filtered:
            return profiles["size"]
        selected = self.selected_customers["cluster"].dropna().astype("int64").value_counts()
        return selected.reindex(profiles.index).fillna(0).astype("int64")


    # -- valuable customers at risk (issue 10)

    @selection
    def valuable_at_risk(self) -> pd.DataFrame:
        """analytics' ranked list of valuable customers at risk from the stored fit (its order kept),
        with each customer's ``clv_tier``, ``risk_band``, ``segment`` and ``country``, narrowed to the
        selected customers; empty (indexed by customer_id) before a fit or when that part failed."""
        found = self.models.results.valuable_at_risk if self.models.ready else None
        if found is None:
            return pd.DataFrame(index=pd.Index([], dtype="str", name="customer_id"))
        customers = self.customers
        joined = [c for c in ("clv_tier", "risk_band", "segment", "country") if c in customers.columns]
        table = found.customers.join(customers[joined], how="left")
        if not self.is_filtered:
            return table
        return table.loc[table.index.isin(self.selected_customers.index)]
