"""The map's tooltip draws the digit: half-block text art of the real 28x28 image."""

import numpy as np

from ui.look_inside_charts import digit_as_text, digit_map


def test_a_digit_becomes_seven_lines_of_fourteen_cells_with_ink_where_it_is_written(mnist):
    one = mnist.x_test[2]  # the third test digit is a 1: a mostly vertical stroke
    lines = digit_as_text(one).split("<br>")
    assert len(lines) == 7 and all(len(line) == 14 for line in lines)
    inked = np.array([[cell != "\u00a0" for cell in line] for line in lines])
    assert inked[:, 4:10].sum() > inked[:, :3].sum() + inked[:, 11:].sum()  # ink in the middle
    assert digit_as_text(np.zeros((28, 28), np.uint8)).replace("<br>", "") == "\u00a0" * 98


def test_hovering_a_point_shows_its_digit(mnist):
    indices = np.arange(20)
    figure = digit_map(
        np.random.default_rng(0).normal(size=(20, 2)),
        indices,
        mnist.y_test[:20],
        mnist.y_test[:20],
        "#%{customdata[0]}",
        "mistake",
        pictures=mnist.x_test[:20],
    )
    trace = figure.data[int(mnist.y_test[0])]  # the class trace that holds test digit 0
    assert trace.customdata[0][0] == 0
    assert trace.customdata[0][3] == digit_as_text(mnist.x_test[0])
    assert "%{customdata[3]}" in trace.hovertemplate
