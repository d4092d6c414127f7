"""Country names as retail logs write them -> ISO-3 codes, for Plotly world maps
(``locationmode="ISO-3"`` against the vendored ``assets/topojson/world_110m.json``)."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

ISO3 = {
    "United Kingdom": "GBR", "UK": "GBR", "EIRE": "IRL", "Ireland": "IRL", "Germany": "DEU",
    "France": "FRA", "Spain": "ESP", "Netherlands": "NLD", "Belgium": "BEL", "Switzerland": "CHE",
    "Portugal": "PRT", "Australia": "AUS", "Norway": "NOR", "Italy": "ITA", "Finland": "FIN",
    "Cyprus": "CYP", "Sweden": "SWE", "Austria": "AUT", "Denmark": "DNK", "Japan": "JPN",
    "Poland": "POL", "Israel": "ISR", "USA": "USA", "United States": "USA", "Singapore": "SGP",
    "Iceland": "ISL", "Canada": "CAN", "Greece": "GRC", "Malta": "MLT", "United Arab Emirates": "ARE",
    "RSA": "ZAF", "South Africa": "ZAF", "Lebanon": "LBN", "Lithuania": "LTU", "Brazil": "BRA",
    "Czech Republic": "CZE", "Bahrain": "BHR", "Saudi Arabia": "SAU", "Korea": "KOR",
    "Thailand": "THA", "Nigeria": "NGA", "West Indies": None, "Hong Kong": "HKG",
    "Channel Islands": None, "European Community": None, "Unspecified": None,
}


def customers_by_country(orders: pd.DataFrame) -> pd.DataFrame:
    """Distinct customers per country (ISO-3), from the order table."""
    known = orders.loc[orders["customer_id"].notna(), ["customer_id", "country"]]
    counts = known.drop_duplicates().groupby("country").size().rename("customers").reset_index()
    counts["iso3"] = counts["country"].map(ISO3)
    return counts.dropna(subset=["iso3"])


def world_map(counts: pd.DataFrame) -> go.Figure:
    figure = go.Figure(go.Choropleth(
        locations=counts["iso3"], z=counts["customers"], text=counts["country"],
        locationmode="ISO-3", colorscale="Blues", colorbar_title="Customers",
        hovertemplate="%{text}: %{z:,} customers<extra></extra>",
    ))
    figure.update_geos(scope="world", resolution=110, showframe=False, showcountries=True,
                       lataxis_range=[-58, 85], projection_type="equirectangular")
    figure.update_layout(margin={"l": 0, "r": 0, "t": 10, "b": 0}, height=380)
    return figure
