"""``portfolio.linear.gc_paused``: the one helper that pauses the cyclic garbage collector, used by
the instance readers (``io``, ``columnar``) and by the CBC backend's model writer."""

from __future__ import annotations

import gc

import pytest

from portfolio.linear import gc_paused


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_paused_inside_and_restored_after(enabled: bool) -> None:
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        with gc_paused():
            assert not gc.isenabled()
        assert gc.isenabled() is enabled
        with pytest.raises(RuntimeError), gc_paused():
            raise RuntimeError("boom")
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_readers_and_the_cbc_backend_share_it() -> None:
    import portfolio.backends.cbc as cbc
    import portfolio.columnar as columnar
    import portfolio.io as io

    assert columnar.gc_paused is gc_paused
    assert io.gc_paused is gc_paused
    assert cbc.gc_paused is gc_paused
    assert not hasattr(cbc, "_gc_paused")
