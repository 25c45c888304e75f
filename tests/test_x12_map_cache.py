"""pyx12's maps are loaded once per process: verdicts must not change because of it."""

import pytest

from billadmin.x12 import validate


@pytest.mark.corpus
def test_cached_maps_give_the_same_verdicts(corpus):
    import pyx12.map_if

    files = (
        sorted((corpus / "x12" / "837p").glob("*.edi"))[:6]
        + sorted((corpus / "x12" / "835").glob("*.edi"))[:2]
    )
    files += [corpus / "x12" / "837p" / "oxygen.edi", corpus / "x12" / "837p" / "wheelchair.edi"]

    def verdicts():
        return [
            (f.name, v.valid, [str(p) for p in v.problems])
            for f in files
            for v in [validate.validate_text(validate.read_x12(f)[0], f.name)]
        ]

    cached = verdicts()
    again = verdicts()
    # the same files with pyx12's own loader (a fresh map per document)
    patched = pyx12.map_if.load_map_file
    original = patched.__closure__[0].cell_contents if patched.__closure__ else patched
    try:
        pyx12.map_if.load_map_file = original
        uncached = verdicts()
    finally:
        pyx12.map_if.load_map_file = patched
    assert cached == again == uncached
    assert [name for name, ok, _ in cached if not ok] == ["oxygen.edi", "wheelchair.edi"]
