import numpy as np
import pandas as pd

from narratives.frames import in_ids


def test_in_ids_matches_pandas_isin_on_string_and_int_ids():
    rng = np.random.default_rng(0)
    pool = [f"c{i:05d}" for i in range(500)]
    values = pd.Series(list(rng.choice(pool, 300)) + [None], dtype="str")
    wanted = set(rng.choice(pool, 120).tolist())
    mask = in_ids(values, wanted)
    assert mask.dtype == bool and mask.sum() > 0
    np.testing.assert_array_equal(mask, values.isin(list(wanted)).to_numpy())
    np.testing.assert_array_equal(in_ids(values, pd.Series(sorted(wanted))), mask)  # a Series of ids works too
    assert not in_ids(values, [None]).any()  # a missing value matches nothing
    ints = pd.Index([3, 1, 4, 1, 5])
    np.testing.assert_array_equal(in_ids(ints, {1, 5}), [False, True, False, True, True])
