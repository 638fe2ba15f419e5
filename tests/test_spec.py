"""The course's network notation."""

import pytest

from skneuro.nn import AvgPool, Conv, Dense, Dropout, Flatten, MaxPool
from skneuro.nn.spec import SpecError, parse_spec

COURSE = "I-28.28, C-6.5, P-2, C-16.5, P-2, C-48.3, D-1024_d0.5, D-256_d0.2, D10"


def test_the_course_mnist_network():
    shape, layers, n_outputs = parse_spec(COURSE, activation="leaky_relu", slope=0.1)
    assert shape == (1, 28, 28) and n_outputs == 10
    kinds = [type(layer) for layer in layers]
    assert kinds == [Conv, MaxPool, Conv, MaxPool, Conv, Flatten, Dense, Dropout, Dense,
                     Dropout]
    assert [layers[0].filters, layers[0].kernel_size] == [6, 5]
    assert layers[0].activation == "leaky_relu" and layers[0].slope == 0.1
    assert [layers[4].filters, layers[4].kernel_size] == [48, 3]
    assert layers[6].units == 1024 and layers[7].rate == 0.5
    assert layers[8].units == 256 and layers[9].rate == 0.2


def test_options_and_1d_forms():
    shape, layers, n_outputs = parse_spec(
        "I-1000_c3, C-8.7_s2_p3_tanh, A-4_s2, C-4.3_pvalid_lrelu0.2, P-2.1, D-16_sig2_d0.1")
    assert shape == (3, 1000) and n_outputs is None
    conv = layers[0]
    assert (conv.kernel_size, conv.stride, conv.padding, conv.activation) == (7, 2, 3, "tanh")
    assert isinstance(layers[1], AvgPool) and layers[1].stride == 2
    assert layers[2].padding == "valid" and layers[2].slope == 0.2
    assert layers[3].pool_size == (2, 1)
    assert isinstance(layers[4], Flatten)
    assert layers[5].activation == "sigmoid" and layers[5].slope == 2.0
    assert isinstance(layers[6], Dropout)


def test_spaces_are_allowed_and_input_is_optional():
    _, layers, n_outputs = parse_spec(" C-6.5 ,P-2,  D-32 , D3 ")
    assert [type(layer) for layer in layers] == [Conv, MaxPool, Flatten, Dense]
    assert n_outputs == 3


@pytest.mark.parametrize("spec, token", [
    ("I-28.28, C-6.5, X-3, D10", "X-3"),
    ("C-6, D10", "C-6"),
    ("C-6.5, D10, D-5", "D10"),
    ("C-6.5, I-28.28", "I-28.28"),
    ("C-6.5_q3", "C-6.5_q3"),
    ("D-32_d1.5", "D-32_d1.5"),
    ("P-2_p1", "P-2_p1"),
])
def test_malformed_specs_point_at_the_token(spec, token):
    with pytest.raises(SpecError, match=f"token '{token}'"):
        parse_spec(spec)


def test_empty_spec_and_empty_token():
    with pytest.raises(SpecError, match="non-empty"):
        parse_spec("  ")
    with pytest.raises(SpecError, match="empty token at position 2"):
        parse_spec("C-6.5,,D10")


@pytest.mark.parametrize("spec, token", [
    ("C-6.5_p", "C-6.5_p"),
    ("C-6.5_p2.3.4", "C-6.5_p2.3.4"),
    ("C-6.5_s2.2.2", "C-6.5_s2.2.2"),
    ("P-2.2.2", "P-2.2.2"),
    ("P-2_relu", "P-2_relu"),
    ("D-64_relu3", "D-64_relu3"),
    ("C-6.5_psame3", "C-6.5_psame3"),
    ("D-64_sig0", "D-64_sig0"),
    ("D-0", "D-0"),
    ("D-64_d0.5_d0.2", "D-64_d0.5_d0.2"),
    ("C-6.5.3.2", "C-6.5.3.2"),
])
def test_options_are_checked_where_they_are_written(spec, token):
    with pytest.raises(SpecError, match=f"token '{token}'"):
        parse_spec(spec)


def test_a_first_dense_layer_is_flattened():
    _, layers, _ = parse_spec("D-8, D2")
    assert [type(layer) for layer in layers] == [Flatten, Dense]
