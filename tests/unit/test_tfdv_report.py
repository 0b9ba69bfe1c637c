"""The offline statistics report page."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from experiments_platform.tfdv import LocalFileReader, load_schema, load_statistics, parse_schema, render_report
from experiments_platform.tfdv.statistics import StatisticsReport, parse_statistics
from tensorflow_metadata.proto.v0 import statistics_pb2

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tfdv" / "movielens"
XSS = '"><img src=x onerror=alert(1)><script>alert(2)</script>'


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _page(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


@pytest.fixture(scope="module")
def html() -> str:
    reader = LocalFileReader()
    statistics = load_statistics(reader, (FIXTURES / "statistics").as_uri())
    schema = load_schema(reader, (FIXTURES / "schema").as_uri())
    return render_report(statistics, schema, title="Exp #3 · MovieLens sample")


def test_loads_nothing_from_the_network(html: str) -> None:
    assert not re.search(r"https?:|//[a-z0-9.-]+\.[a-z]{2,}/", html, re.IGNORECASE)
    assert "@import" not in html and "url(" not in html
    for tag, attrs in _page(html).tags:
        assert tag not in ("link", "iframe", "img", "object", "embed"), tag
        assert "src" not in attrs, (tag, attrs)
    assert "default-src 'none'" in html


def test_renders_every_feature_of_every_split(html: str) -> None:
    statistics = load_statistics(LocalFileReader(), (FIXTURES / "statistics").as_uri())
    for split in statistics.splits:
        section = html.split(f'id="split-{split.split}"', 1)[1].split("</section>", 1)[0]
        assert f"{split.num_examples:,} examples" in section
        for feature in split.numeric_features:
            assert f'aria-label="histogram of {feature.name}"' in section
        assert section.count("<rect") == 10 * len(split.numeric_features)
        for categorical in split.categorical_features:
            assert f'aria-label="top values of {categorical.name}"' in section
            assert f">{categorical.top_values[0].value}<" in section.replace("&#x27;", "'")


def test_histogram_bar_heights_follow_the_counts(html: str) -> None:
    age = html.split('aria-label="histogram of age"', 1)[1].split("</svg>", 1)[0]
    heights = [float(h) for h in re.findall(r'height="([0-9.]+)"><title>', age)]
    statistics = load_statistics(LocalFileReader(), (FIXTURES / "statistics").as_uri())
    counts = [b.count for b in statistics.split("train").numeric_features[0].histogram]
    assert heights.index(max(heights)) == counts.index(max(counts))


def test_small_missing_share_is_not_rounded_to_zero(html: str) -> None:
    row = html.split('<tr data-feature="release_year">', 1)[1].split("</tr>", 1)[0]
    assert "<td>&lt;0.1%</td>" in row


def test_schema_table_shows_domains(html: str) -> None:
    schema_section = html.split('id="schema"', 1)[1]
    assert "gender: F, M" in schema_section
    assert "required" in schema_section


def test_every_string_from_the_data_is_escaped() -> None:
    stats = statistics_pb2.DatasetFeatureStatisticsList()
    dataset = stats.datasets.add(num_examples=2)
    feature = dataset.features.add(name=XSS, type=statistics_pb2.FeatureNameStatistics.STRING)
    feature.string_stats.common_stats.num_non_missing = 2
    feature.string_stats.common_stats.tot_num_values = 2
    feature.string_stats.common_stats.max_num_values = 1
    feature.string_stats.unique = 1
    feature.string_stats.top_values.add(value=XSS, frequency=2)
    numeric = dataset.features.add(name=XSS + "n", type=statistics_pb2.FeatureNameStatistics.FLOAT)
    numeric.num_stats.histograms.add(type=statistics_pb2.Histogram.STANDARD).buckets.add(
        low_value=0, high_value=1, sample_count=2
    )
    report = StatisticsReport(splits=[parse_statistics(stats.SerializeToString(), XSS)])
    schema = parse_schema('feature { name: "x" type: BYTES string_domain { value: "<script>alert(3)</script>" } }')
    html = render_report(report, schema, title=XSS)
    assert "<script>alert" not in html and "<img" not in html
    page = _page(html)
    assert [tag for tag, _ in page.tags if tag == "script"] == ["script"], "only the page's own filter script"
    assert XSS in "".join(page.text), "the text itself is shown, as text"


def test_report_without_splits_or_schema_still_renders() -> None:
    html = render_report(StatisticsReport(splits=[]))
    assert "no splits" in html and 'id="schema"' not in html
