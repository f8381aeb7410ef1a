"""bench/order.py's orders: each a permutation of the corpus, file order first (the baseline)."""

from __future__ import annotations

from bench.order import orders

ROWS = [{"id": "a", "published": "2024-01-01"}, {"id": "b", "published": "2024-01-02"},
        {"id": "c", "published": "2024-01-03"}, {"id": "u1", "published": ""}, {"id": "u2", "published": ""}]


def test_every_order_is_the_corpus_rearranged_and_file_order_comes_first() -> None:
    got = orders(ROWS, seeds=2)
    assert [label for label, _ in got] == ["file order", "dated shuffled (seed 1)", "dated shuffled (seed 2)",
                                           "dated reversed", "all shuffled (seed 1)", "all shuffled (seed 2)"]
    assert got[0][1] == ROWS
    for _, rows in got:
        assert sorted(r["id"] for r in rows) == ["a", "b", "c", "u1", "u2"]


def test_dated_orders_keep_undated_rows_last() -> None:
    for label, rows in orders(ROWS, seeds=3):
        if label.startswith("dated"):
            assert [r["id"] for r in rows[3:]] == ["u1", "u2"]
    assert [r["id"] for r in dict(orders(ROWS, seeds=1))["dated reversed"]] == ["c", "b", "a", "u1", "u2"]
