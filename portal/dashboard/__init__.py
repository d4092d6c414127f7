"""Dashboard layer: what managers see and click.

filters (the URL is the state) · view (selection + memoised page callbacks) ·
selectors (view.segment_summary()...: cached report or recomputation) ·
gridquery (AG Grid filter/sort on the server) · customer_lists + exports (CSV) ·
saved_views · layout (shell, navigation) · components/ (figures, tables, cards,
filter bar...) · pages/ (one Dash page per module: layout plus wiring).

Imports ``portal.data``, ``portal.platform`` and ``analytics``.
"""
