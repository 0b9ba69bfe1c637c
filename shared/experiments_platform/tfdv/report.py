"""The statistics report page: one self-contained HTML document (inline CSS, SVG and script).

It loads nothing from the network (a Content-Security-Policy forbids it as well), so it renders
offline, unlike TFDV's own HTML which fetches its viewer. Every string that comes from the data
(feature names, values, split names, titles) is HTML-escaped.
"""

from __future__ import annotations

import math
from html import escape

from experiments_platform.tfdv.schema import Domain, SchemaReport
from experiments_platform.tfdv.statistics import (
    Bucket,
    CategoricalFeatureStats,
    NumericFeatureStats,
    SplitStatistics,
    StatisticsReport,
)

TOP_VALUES_SHOWN = 10
CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"

_STYLE = """
:root { --ink:#1f2933; --muted:#616e7c; --line:#e4e7eb; --bar:#3f83f8; --warn:#c81e1e; --bg:#f7f9fb; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
       color:var(--ink); background:var(--bg); }
header { padding:20px 28px; background:#fff; border-bottom:1px solid var(--line); }
header h1 { margin:0 0 4px; font-size:20px; }
header p { margin:0; color:var(--muted); }
main { padding:16px 28px 40px; }
section.split { background:#fff; border:1px solid var(--line); border-radius:8px; margin:16px 0; padding:12px 16px; }
h2 { font-size:17px; margin:4px 0 8px; }
h3 { font-size:14px; margin:16px 0 6px; color:var(--muted); text-transform:uppercase; letter-spacing:.04em; }
table { border-collapse:collapse; width:100%; }
th, td { text-align:right; padding:5px 8px; border-bottom:1px solid var(--line); vertical-align:middle; }
th { font-weight:600; color:var(--muted); font-size:12px; background:#fafbfc; position:sticky; top:0; }
td.name, th.name, td.text, th.text { text-align:left; }
td.name { font-weight:600; word-break:break-all; }
td.warn { color:var(--warn); font-weight:600; }
.toolbar { display:flex; gap:12px; align-items:center; margin:8px 0 0; }
.toolbar input { padding:6px 10px; border:1px solid var(--line); border-radius:6px; min-width:260px; font:inherit; }
.bars { list-style:none; margin:0; padding:0; min-width:260px; }
.bars li { display:grid; grid-template-columns:minmax(80px,1fr) 120px 56px; gap:6px; align-items:center;
           font-size:12px; }
.bars .label { overflow:hidden; text-overflow:ellipsis; white-space:nowrap; text-align:left; }
.bars .track { background:var(--line); height:8px; border-radius:4px; overflow:hidden; }
.bars .fill { background:var(--bar); height:100%; }
.bars .count { text-align:right; color:var(--muted); }
svg.hist rect { fill:var(--bar); }
svg.hist rect:hover { fill:#1c64f2; }
.empty { color:var(--muted); font-style:italic; }
"""

_SCRIPT = """
document.getElementById('feature-filter').addEventListener('input', function (event) {
  var needle = event.target.value.toLowerCase();
  document.querySelectorAll('tr[data-feature]').forEach(function (row) {
    row.hidden = needle !== '' && row.getAttribute('data-feature').toLowerCase().indexOf(needle) === -1;
  });
});
"""


def fmt(value: float) -> str:
    """Readable number: thousands separators, four significant digits for fractions."""
    if isinstance(value, float) and not math.isfinite(value):
        return escape(str(value))
    if float(value).is_integer():
        return f"{int(value):,}"
    if abs(value) >= 1000:
        return f"{value:,.1f}"
    return f"{value:.4g}"


def _percent(value: float) -> str:
    if not value:
        return "0%"
    return "&lt;0.1%" if value < 0.1 else f"{value:.1f}%"


def histogram_svg(buckets: list[Bucket], label: str, width: int = 140, height: int = 36) -> str:
    """Inline SVG bar chart of histogram buckets, one ``<title>`` tooltip per bar."""
    if not buckets:
        return '<span class="empty">no histogram</span>'
    peak = max(b.count for b in buckets) or 1.0
    step = width / len(buckets)
    bars = []
    for i, bucket in enumerate(buckets):
        bar_height = max(1.0, (height - 2) * bucket.count / peak) if bucket.count else 0.0
        tip = f"{fmt(bucket.low)} – {fmt(bucket.high)}: {fmt(round(bucket.count, 1))}"
        bars.append(
            f'<rect x="{i * step + 0.5:.2f}" y="{height - bar_height:.2f}" width="{max(step - 1, 1):.2f}" '
            f'height="{bar_height:.2f}"><title>{escape(tip)}</title></rect>'
        )
    return (
        f'<svg class="hist" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(label)}">{"".join(bars)}</svg>'
    )


def top_values_bars(feature: CategoricalFeatureStats) -> str:
    values = feature.top_values[:TOP_VALUES_SHOWN]
    if not values:
        return '<span class="empty">no values</span>'
    peak = max(v.count for v in values) or 1.0
    items = []
    for top in values:
        share = 100.0 * top.count / peak
        items.append(
            f'<li><span class="label" title="{escape(top.value)}">{escape(top.value)}</span>'
            f'<span class="track"><span class="fill" style="display:block;width:{share:.1f}%"></span></span>'
            f'<span class="count">{fmt(top.count)}</span></li>'
        )
    return f'<ul class="bars" aria-label="top values of {escape(feature.name)}">{"".join(items)}</ul>'


def _missing_cell(percent: float) -> str:
    css = ' class="warn"' if percent >= 10 else ""
    return f"<td{css}>{_percent(percent)}</td>"


def _numeric_table(features: list[NumericFeatureStats]) -> str:
    if not features:
        return ""
    rows = []
    for f in features:
        rows.append(
            f'<tr data-feature="{escape(f.name)}"><td class="name">{escape(f.name)}</td>'
            f"<td>{fmt(f.count)}</td>{_missing_cell(f.missing_percent)}<td>{fmt(f.mean)}</td>"
            f"<td>{fmt(f.std_dev)}</td><td>{_percent(f.zeros_percent)}</td><td>{fmt(f.min)}</td>"
            f"<td>{fmt(f.median)}</td><td>{fmt(f.max)}</td>"
            f"<td>{histogram_svg(f.histogram, f'histogram of {f.name}')}</td></tr>"
        )
    return (
        f"<h3>Numeric features ({len(features)})</h3><table><thead><tr>"
        '<th class="name">Feature</th><th>Count</th><th>Missing</th><th>Mean</th><th>Std dev</th>'
        "<th>Zeros</th><th>Min</th><th>Median</th><th>Max</th><th>Histogram</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _categorical_table(features: list[CategoricalFeatureStats]) -> str:
    if not features:
        return ""
    rows = []
    for f in features:
        rows.append(
            f'<tr data-feature="{escape(f.name)}"><td class="name">{escape(f.name)}</td>'
            f"<td>{fmt(f.count)}</td>{_missing_cell(f.missing_percent)}<td>{fmt(f.unique)}</td>"
            f"<td>{fmt(f.avg_length)}</td><td>{top_values_bars(f)}</td></tr>"
        )
    return (
        f"<h3>Categorical features ({len(features)})</h3><table><thead><tr>"
        '<th class="name">Feature</th><th>Count</th><th>Missing</th><th>Unique</th><th>Avg length</th>'
        f'<th class="text">Top values</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def _other_table(split: SplitStatistics) -> str:
    if not split.other_features:
        return ""
    rows = "".join(
        f'<tr data-feature="{escape(f.name)}"><td class="name">{escape(f.name)}</td><td>{escape(f.type)}</td>'
        f"<td>{fmt(f.count)}</td>{_missing_cell(f.missing_percent)}</tr>"
        for f in split.other_features
    )
    return (
        f"<h3>Other features ({len(split.other_features)})</h3><table><thead><tr>"
        '<th class="name">Feature</th><th>Type</th><th>Count</th><th>Missing</th>'
        f"</tr></thead><tbody>{rows}</tbody></table>"
    )


def _split_section(split: SplitStatistics) -> str:
    return (
        f'<section class="split" id="split-{escape(split.split)}">'
        f"<h2>Split {escape(split.split)} · {fmt(split.num_examples)} examples · {split.feature_count} features</h2>"
        f"{_numeric_table(split.numeric_features)}{_categorical_table(split.categorical_features)}"
        f"{_other_table(split)}</section>"
    )


def _domain_text(domain: Domain | None) -> str:
    if domain is None:
        return "—"
    if domain.values is not None:
        shown = ", ".join(domain.values[:12]) + (f" … (+{len(domain.values) - 12})" if len(domain.values) > 12 else "")
        return f"{domain.name or domain.kind}: {shown}"
    if domain.min is not None or domain.max is not None:
        low = "−∞" if domain.min is None else fmt(domain.min)
        high = "∞" if domain.max is None else fmt(domain.max)
        return f"{domain.kind} [{low}, {high}]"
    return domain.name or domain.kind


def _schema_section(schema: SchemaReport) -> str:
    rows = []
    for f in schema.features:
        shape = "[" + ", ".join(str(d) for d in f.shape) + "]" if f.shape is not None else "—"
        rows.append(
            f'<tr data-feature="{escape(f.name)}"><td class="name">{escape(f.name)}</td><td class="text">'
            f'{escape(f.type)}</td><td class="text">{escape(f.presence)}</td><td class="text">{escape(shape)}</td>'
            f'<td class="text">{escape(_domain_text(f.domain))}</td></tr>'
        )
    return (
        '<section class="split" id="schema"><h2>Schema</h2><table><thead><tr>'
        '<th class="name">Feature</th><th class="text">Type</th><th class="text">Presence</th>'
        '<th class="text">Shape</th><th class="text">Domain</th>'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></section>"
    )


def render_report(statistics: StatisticsReport, schema: SchemaReport | None = None, title: str = "") -> str:
    """The full report page for every split (and the schema when given)."""
    heading = title or "Dataset statistics"
    splits = ", ".join(f"{s.split} ({fmt(s.num_examples)})" for s in statistics.splits) or "no splits"
    body = "".join(_split_section(split) for split in statistics.splits)
    if schema is not None:
        body += _schema_section(schema)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(heading)}</title><style>{_STYLE}</style></head><body>"
        f"<header><h1>{escape(heading)}</h1><p>Splits: {escape(splits)}</p>"
        '<div class="toolbar"><label for="feature-filter">Filter features</label>'
        '<input id="feature-filter" type="search" placeholder="feature name" autocomplete="off"></div></header>'
        f"<main>{body}</main><script>{_SCRIPT}</script></body></html>\n"
    )
