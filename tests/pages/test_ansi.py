"""A log's ANSI colours become classes, and everything else is escaped text: no log can put markup on a page."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline_queue.server.pages.ansi import PLAIN, Style, plain, render

OUR_MARKUP = re.compile(r'<span class="[a-z0-9 ]+">|</span>')


def lines(text: str) -> list[str]:
    return render(text)[0]


@pytest.mark.parametrize(("text", "html"), [
    ("<b>Tom & \"Jerry\"</b>\n", "&lt;b&gt;Tom &amp; \"Jerry\"&lt;/b&gt;"),
    ("\x1b[31mred\x1b[0m plain\n", '<span class="f1">red</span> plain'),
    ("\x1b[1;92;44mx\x1b[22;39;49my", '<span class="ab f10 b4">x</span>y'),
    ("\x1b[mnothing", "nothing"),
], ids=["escaped", "colour-and-reset", "bold-bright-background", "empty-reset"])
def test_text_is_escaped_and_colours_become_classes(text, html):
    assert lines(text) == [html]


def test_256_and_24_bit_colours_take_the_nearest_of_the_16():
    red, green = render("\x1b[38;5;196mx")[0], render("\x1b[48;5;2mx")[0]  # (255, 0, 0) and palette 2
    assert (red, green) == (['<span class="f9">x</span>'], ['<span class="b2">x</span>'])
    assert lines("\x1b[38;2;10;10;10mx") == ['<span class="f0">x</span>']
    assert lines("\x1b[38;5mx") == ["x"]  # malformed: ignored


def test_inverse_swaps_the_colours():
    assert [lines("\x1b[7mx"), lines("\x1b[31;7mx")] == [['<span class="f0 b7">x</span>'],
                                                         ['<span class="f0 b1">x</span>']]


def test_a_style_goes_on_across_lines_until_reset():
    assert lines("\x1b[32mone\ntwo\x1b[0m\nthree\n") == [
        '<span class="f2">one</span>', '<span class="f2">two</span>', "three"]
    _, style = render("\x1b[4mhalf\n")
    assert style == Style(underline=True)
    assert render("rest\n", style)[0] == ['<span class="au">rest</span>']


def test_other_sequences_and_control_characters_are_dropped():
    hyperlink = "see \x1b]8;;https://example.com\x07the docs\x1b]8;;\x07\n"
    assert [lines("\x1b[2K\x1b[1Gdone\x07\x00\n"), lines(hyperlink)] == [["done"], ["see the docs"]]
    assert lines("\x1b]0;a title\x1b\\text") + lines("tab\there") == ["text", "tab\there"]


def test_a_carriage_return_starts_the_line_over():
    for text, shown in (("10%\r50%\r100%\n", "100%"), ("done\r\n", "done"), ("kept\r", "kept")):
        assert lines(text) == [shown]


def test_lines_and_the_last_one_without_its_newline():
    assert render("") == ([], PLAIN)
    assert lines("a\n\nb") == ["a", "", "b"]


def test_plain_removes_every_escape():
    assert plain("\x1b[1;31mFAIL\x1b[0m: \x1b]8;;x\x07y\x1b]8;;\x07\n") == "FAIL: y\n"


@given(st.text(alphabet=st.sampled_from(list("<>&\"'ab\n\r\x1b[];:0123456789m/\\")), max_size=200))
def test_no_text_can_produce_markup_of_its_own(text):
    for line in lines(text):
        assert "<" not in OUR_MARKUP.sub("", line) and ">" not in OUR_MARKUP.sub("", line)
