import numpy as np
import pytest

from pipelines.core.mpan import check_digit, check_digits, is_valid_mpan_core, mpan_cores

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("mpan_core", ["1200012345679", "2000012345672"])
def test_domain_examples_are_valid(mpan_core):
    assert is_valid_mpan_core(mpan_core)


@pytest.mark.parametrize(
    "mpan_core",
    ["1234567890123", "1200012345670", "120001234567", "12000123456790", "12000l2345679", "", None, 1200012345679],
)
def test_invalid_mpan_cores_are_refused(mpan_core):
    assert not is_valid_mpan_core(mpan_core)


def test_check_digit_is_sum_of_weighted_digits_mod_11_mod_10():
    # 1,2,0,0,0,1,2,3,4,5,6,7 x 3,5,7,13,17,19,23,29,31,37,41,43 sum to 1021; 1021 mod 11 = 9
    assert check_digit("120001234567") == 9
    with pytest.raises(ValueError):
        check_digit("12345")


def test_vectorised_check_digits_agree_with_the_scalar_rule():
    rng = np.random.default_rng(1)
    first_twelve = rng.integers(10**11, 10**12, size=2000)
    vectorised = check_digits(first_twelve)
    assert vectorised.tolist() == [check_digit(str(v)) for v in first_twelve]
    assert all(is_valid_mpan_core(str(core)) for core in mpan_cores(first_twelve))
    # every residue, including the mod-10 fold of 10 to 0, is reached
    assert set(vectorised.tolist()) == set(range(10))
